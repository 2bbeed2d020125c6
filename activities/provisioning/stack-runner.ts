/**
 * Runs one Pulumi action in a child process (pulumi/run-stack.ts) and relays its progress.
 * A child per action keeps Pulumi's process-wide runtime state out of the worker, so stacks of
 * different tenants provision side by side; cancelling kills nothing abruptly: the child gets
 * SIGTERM and cancels the engine, which leaves the stack unlocked.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { delimiter, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type {
  StackMessage,
  StackProgress,
  StackRequest,
  StackResult,
  StackFailure,
} from '../../pulumi/stack-protocol.js';

const RUNNER = fileURLToPath(new URL('../../pulumi/run-stack.ts', import.meta.url));
const NODE_MODULES = fileURLToPath(new URL('../../node_modules', import.meta.url));

export interface PulumiEnvironment {
  /** The `pulumi` CLI; its folder goes first on the runner's PATH. */
  cliPath: string;
  /** Folder holding `pulumi-resource-pulumi-nodejs` (the @pulumi/pulumi npm package). */
  pluginDir: string;
  backendUrl: string;
  /** PULUMI_CONFIG_PASSPHRASE for the passphrase secrets provider. */
  passphrase?: string;
  /** e.g. awskms://…; passphrase when absent. */
  secretsProvider?: string;
  /** PULUMI_HOME: plugins and workspace settings, kept out of the user's home. */
  home: string;
  /** The environment the CLI runs in otherwise (PATH, HOME, …): config/environment.ts. */
  inherited: NodeJS.ProcessEnv;
  /** Every engine diagnostic and the runner's stderr to this process's stderr (LANDLORD_DEBUG_STACK). */
  debug?: boolean;
}

/** The environment of a process that runs Pulumi: the CLI, its plugins, the backend and secrets. */
export function stackProcessEnv(env: PulumiEnvironment): NodeJS.ProcessEnv {
  return {
    ...env.inherited,
    PATH: [dirname(env.cliPath), env.pluginDir, env.inherited.PATH ?? ''].join(delimiter),
    // The dynamic-provider plugin resolves @pulumi/pulumi (and our providers tsx) from its
    // working directory, which may be outside the project (a data folder elsewhere).
    NODE_PATH: [NODE_MODULES, env.inherited.NODE_PATH ?? ''].filter(Boolean).join(delimiter),
    PULUMI_BACKEND_URL: env.backendUrl,
    PULUMI_HOME: env.home,
    PULUMI_SKIP_UPDATE_CHECK: 'true',
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: 'true',
    // Old checkpoints would keep copies of secrets (data keys) that destroy must remove.
    PULUMI_DISABLE_CHECKPOINT_BACKUPS: 'true',
    PULUMI_RETAIN_CHECKPOINTS: 'false',
    ...(env.passphrase !== undefined ? { PULUMI_CONFIG_PASSPHRASE: env.passphrase } : {}),
  };
}

export class StackRunFailed extends Error {
  override name = 'StackRunFailed';
  constructor(readonly failure: StackFailure) {
    super(failure.message);
  }
}

export async function runStack(
  env: PulumiEnvironment,
  request: StackRequest,
  { onProgress, signal }: { onProgress?: (p: StackProgress) => void; signal?: AbortSignal } = {},
): Promise<StackResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', RUNNER], {
    stdio: ['pipe', 'pipe', 'pipe', 'ipc'],
    env: stackProcessEnv(env),
  });
  const onAbort = () => child.kill('SIGTERM');
  signal?.addEventListener('abort', onAbort, { once: true });
  let stderr = '';
  if (env.debug) child.stderr!.pipe(process.stderr);
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  let outcome: StackResult | StackFailure | undefined;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let message: StackMessage;
    try {
      message = JSON.parse(line) as StackMessage;
    } catch {
      return;
    }
    if (message.kind === 'progress') onProgress?.(message);
    else outcome = message;
  });
  // What the runner needs besides the action travels in the request, not in its environment.
  const full: StackRequest = {
    ...request,
    backendUrl: env.backendUrl,
    ...(env.secretsProvider ? { secretsProvider: env.secretsProvider } : {}),
    ...(env.debug ? { debug: true } : {}),
  };
  child.stdin!.end(JSON.stringify(full));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  signal?.removeEventListener('abort', onAbort);
  // Let the last stdout lines drain.
  await new Promise((r) => setImmediate(r));
  if (outcome?.kind === 'result') return outcome;
  if (outcome?.kind === 'error') throw new StackRunFailed(outcome);
  if (signal?.aborted)
    throw new StackRunFailed({
      kind: 'error',
      type: 'OperationCancelled',
      message: 'the operation was cancelled',
    });
  const lastLines = stderr.trim().split('\n').slice(-5).join('\n');
  throw new StackRunFailed({
    kind: 'error',
    type: 'Transient',
    message: `the stack runner exited with code ${code}: ${lastLines}`,
  });
}
