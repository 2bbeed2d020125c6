/**
 * The silo-onboarding benchmark's baseline: the local silo program run by the Pulumi Automation API
 * from a plain process of its own, with nothing of Landlord around it (no API, Temporal, worker or
 * registry). `runBarePulumi` starts this file as that process (`node --import tsx`), in the same
 * Pulumi environment the provisioning worker gives its stack runners, hands it a BareStackRequest
 * on stdin and reads one JSON line of timings from its stdout.
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { stackProcessEnv } from '../activities/provisioning/stack-runner.js';
import type { PulumiEnvironment } from '../activities/provisioning/stack-runner.js';
import type { SiloSpec } from '../domain/index.js';

const SELF = fileURLToPath(import.meta.url);

export interface BareStackRequest {
  action: 'up' | 'destroy';
  project: string;
  stack: string;
  spec: SiloSpec;
  config: Record<string, { value: string; secret?: boolean }>;
  workDir: string;
}

/** Where the time of one bare run went, as the process itself measured it. */
export interface BareStackTimings {
  /** From the process's start to its first line of code: Node and tsx. */
  startMs: number;
  /** Loading the Pulumi SDK and the program, `LocalWorkspace.createOrSelectStack` and `setAllConfig`. */
  setupMs: number;
  /** `stack.up()` (`pulumi up --yes --skip-preview`) or `stack.destroy()` plus `stack rm`. */
  actionMs: number;
}

export interface BareStackRun extends BareStackTimings {
  /** From spawning the process to its exit. */
  wallMs: number;
}

/** Runs one action in a process of its own; `onStarted` gets its pid (to sample its memory). */
export async function runBarePulumi(
  env: PulumiEnvironment,
  request: BareStackRequest,
  { onStarted }: { onStarted?: (pid: number) => void } = {},
): Promise<BareStackRun> {
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', SELF], {
    stdio: ['pipe', 'pipe', 'pipe'],
    // The same environment the worker's stack runner gets.
    env: stackProcessEnv(env),
  });
  onStarted?.(child.pid!);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  child.stdin!.end(JSON.stringify(request));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  const wallMs = performance.now() - started;
  if (code !== 0)
    throw new Error(`bare pulumi ${request.action} of ${request.stack} exited ${code}: ${stderr.trim()}`);
  return { ...(JSON.parse(stdout.trim().split('\n').at(-1)!) as BareStackTimings), wallMs };
}

async function main(): Promise<void> {
  const startMs = performance.now();
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const request = JSON.parse(Buffer.concat(chunks).toString('utf8')) as BareStackRequest;
  // Loaded here, not at the top, so that the benchmark process that imports this file stays lean.
  const { LocalWorkspace } = await import('@pulumi/pulumi/automation/index.js');
  const { localSiloProgram } = await import('../pulumi/local/program.js');
  mkdirSync(request.workDir, { recursive: true });
  const stack = await LocalWorkspace.createOrSelectStack(
    { projectName: request.project, stackName: request.stack, program: localSiloProgram(request.spec) },
    {
      workDir: request.workDir,
      projectSettings: {
        name: request.project,
        runtime: 'nodejs',
        backend: { url: process.env.PULUMI_BACKEND_URL! },
      },
    },
  );
  await stack.setAllConfig(request.config);
  const setupMs = performance.now() - startMs;
  if (request.action === 'up') {
    await stack.up();
  } else {
    await stack.destroy();
    await stack.workspace.removeStack(request.stack);
  }
  const actionMs = performance.now() - startMs - setupMs;
  const timings: BareStackTimings = { startMs, setupMs, actionMs };
  process.stdout.write(`${JSON.stringify(timings)}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  });
}
