/**
 * The stack runner: runs one Pulumi Automation API action for one stack in its own process, so
 * that concurrent operations never share Pulumi's process-wide runtime state. Reads a
 * StackRequest on stdin, writes StackMessages as JSON lines on stdout. SIGTERM, or losing its
 * parent, cancels the action and leaves the stack unlocked.
 */
import {
  ConcurrentUpdateError,
  LocalWorkspace,
  StackNotFoundError,
  CommandError,
} from '@pulumi/pulumi/automation/index.js';
import type { EngineEvent, OutputMap } from '@pulumi/pulumi/automation/index.js';
import { siloProgram } from './programs.js';
import { destroySiloStack } from './teardown.js';
import type { DriftedResource, StackFailure, StackMessage, StackRequest } from './stack-protocol.js';
import { LOCAL_RESOURCE_COUNT } from './local/program.js';

let parentGone = false;
/** Writes one message to the parent; a no-op once the parent is gone (a write would fail again and again). */
const send = (message: StackMessage) => {
  if (!parentGone && process.stdout.writable) process.stdout.write(`${JSON.stringify(message)}\n`);
};

async function readRequest(): Promise<StackRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as StackRequest;
}

function publicOutputs(outputs: OutputMap): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(outputs)
      .filter(([, o]) => !o.secret)
      .map(([k, o]) => [k, o.value]),
  );
}

/** Counts finished resources from engine events for progress reports. */
function progressReporter(expected: number | undefined, debug: boolean) {
  const seen = new Set<string>();
  const finished = new Set<string>();
  let last = 0;
  return (event: EngineEvent) => {
    const diagnostic = event.diagnosticEvent;
    if (diagnostic && !parentGone && (diagnostic.severity === 'error' || debug)) {
      process.stderr.write(`${diagnostic.severity}: ${diagnostic.message}`);
    }
    const pre = event.resourcePreEvent?.metadata;
    const out = event.resOutputsEvent?.metadata;
    if (pre) seen.add(pre.urn);
    if (out) finished.add(out.urn);
    const meta = pre ?? out;
    if (!meta) return;
    const now = Date.now();
    // At most a few reports a second, but always the last one.
    if (now - last < 200 && finished.size < seen.size) return;
    last = now;
    // A URN ends with the resource's name: urn:pulumi:<stack>::<project>::<type path>::<name>.
    send({
      kind: 'progress',
      done: finished.size,
      total: Math.max(expected ?? 0, seen.size),
      current: `${meta.type} ${meta.urn.split('::').at(-1)}`,
    });
  };
}

function classify(err: unknown, aborted: boolean): StackFailure {
  const text = err instanceof Error ? err.message : String(err);
  // Engine messages can be long; the first lines carry the reason. Secrets are masked by Pulumi.
  const message = text
    .split('\n')
    .filter((l) => l.trim())
    .slice(0, 8)
    .join('\n')
    .slice(0, 2000);
  if (aborted) return { kind: 'error', type: 'OperationCancelled', message: 'the operation was cancelled' };
  // The Automation API's own classes first.
  if (err instanceof ConcurrentUpdateError) return { kind: 'error', type: 'StackLocked', message };
  if (err instanceof StackNotFoundError) return { kind: 'error', type: 'NotFound', message };
  if (err instanceof CommandError) {
    // Pending operations and configuration errors have no class of their own, and the CLI exits
    // with the same code for every failure: only its stderr tells them apart.
    const stderr = (err as unknown as { commandResult?: { stderr?: string } }).commandResult?.stderr ?? text;
    if (/pending operations|interrupted while/i.test(stderr))
      return { kind: 'error', type: 'PendingOperations', message };
    if (
      /(Missing required configuration|config(uration)? (value|key)|invalid (stack|project) name|failed to decrypt|incorrect passphrase)/i.test(
        stderr,
      )
    )
      return { kind: 'error', type: 'Misconfigured', message };
  }
  return { kind: 'error', type: 'Transient', message };
}

async function main(): Promise<void> {
  const request = await readRequest();
  const abort = new AbortController();
  process.once('SIGTERM', () => abort.abort());
  process.once('SIGINT', () => abort.abort());
  // The parent (the worker) is gone: stop rather than hold the stack's lock for nobody. Three ways
  // to notice: the IPC channel closes, writing to it fails, or we are re-parented.
  const parent = process.ppid;
  const onParentGone = () => {
    parentGone = true;
    abort.abort();
  };
  process.once('disconnect', onParentGone);
  process.stdout.on('error', onParentGone);
  process.stderr.on('error', onParentGone);
  const watch = setInterval(() => {
    if (process.ppid !== parent) onParentGone();
  }, 1000);
  watch.unref();
  try {
    const stack = await LocalWorkspace.createOrSelectStack(
      { projectName: request.project, stackName: request.stack, program: await siloProgram(request.spec) },
      {
        workDir: request.workDir,
        ...(request.secretsProvider ? { secretsProvider: request.secretsProvider } : {}),
        projectSettings: {
          name: request.project,
          runtime: 'nodejs',
          backend: request.backendUrl ? { url: request.backendUrl } : undefined,
        },
      },
    );
    await stack.setAllConfig(request.config);
    const expected = request.spec.region.provider === 'local' ? LOCAL_RESOURCE_COUNT : undefined;
    const onEvent = progressReporter(expected, request.debug === true);
    const signal = abort.signal;
    if (request.repair) await stack.refresh({ clearPendingCreates: true, signal });
    switch (request.action) {
      case 'up': {
        const result = await stack.up({ onEvent, signal });
        send({
          kind: 'result',
          outputs: publicOutputs(result.outputs),
          changes: result.summary.resourceChanges ?? {},
        });
        break;
      }
      case 'preview': {
        const result = await stack.preview({ onEvent, signal });
        send({ kind: 'result', outputs: {}, changes: result.changeSummary });
        break;
      }
      case 'refresh': {
        const result = await stack.refresh({ onEvent, signal });
        send({
          kind: 'result',
          outputs: publicOutputs(await stack.outputs()),
          changes: result.summary.resourceChanges ?? {},
        });
        break;
      }
      case 'drift': {
        const drift: DriftedResource[] = [];
        const result = await stack.previewRefresh({
          signal,
          // A refresh step's outcome (`same`, `update`, `delete`) arrives with the resource's outputs.
          onEvent: (event) => {
            const step = event.resOutputsEvent?.metadata;
            if (!step || step.op === 'same' || step.op === 'refresh' || step.type.startsWith('pulumi:'))
              return;
            drift.push({
              urn: step.urn,
              type: step.type,
              name: step.urn.split('::').at(-1) ?? step.urn,
              change: step.op,
            });
          },
        });
        send({ kind: 'result', outputs: {}, changes: result.changeSummary, drift });
        break;
      }
      case 'destroy': {
        const result = await destroySiloStack(
          {
            exportStack: () => stack.exportStack(),
            up: (o) => stack.up({ ...o, onEvent }),
            destroy: (o) => stack.destroy({ ...o, onEvent }),
          },
          request.spec,
          siloProgram,
          { signal },
        );
        if (request.removeStack) await stack.workspace.removeStack(request.stack);
        send({ kind: 'result', outputs: {}, changes: result.summary.resourceChanges ?? {} });
        break;
      }
    }
  } catch (err) {
    send(classify(err, abort.signal.aborted));
    process.exitCode = 1;
  } finally {
    // The IPC channel (our parent-liveness probe) would keep this process alive.
    clearInterval(watch);
    process.off('disconnect', onParentGone);
    if (process.connected) process.disconnect();
  }
}

void main();
