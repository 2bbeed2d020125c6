/**
 * How a silo stack is destroyed. A cloud silo's data resources are protected (`protect`, and the
 * database's own deletion protection) when its tier asks for it, so a plain `pulumi destroy`
 * refuses them. So when the stack's state holds a protected resource, the destroy path first runs
 * an update of its own with `teardown` set (protection lifted; the bucket's policy, encryption,
 * versioning and public access block retained on delete, so they go only with the bucket),
 * targeted at the resources the state already holds, so that it never creates what a failed
 * provisioning left out. It destroys only once that update succeeded; if the update fails, a
 * normal update puts the protection back before the failure is reported.
 */
import type { PulumiFn } from '@pulumi/pulumi/automation/index.js';
import type { SiloSpec } from '../domain/index.js';

/** What a stack's exported state says of each resource that matters here. */
interface StateResource {
  urn: string;
  type: string;
  protect?: boolean;
}

/** The Automation API calls a destroy makes, as Stack has them. */
export interface DestroyableStack<R> {
  exportStack(): Promise<{ deployment?: { resources?: StateResource[] } }>;
  up(options: { program: PulumiFn; target?: string[]; signal?: AbortSignal }): Promise<unknown>;
  destroy(options: { signal?: AbortSignal }): Promise<R>;
}

/** Lifts protection in an update of its own when there is any, then destroys. */
export async function destroySiloStack<R>(
  stack: DestroyableStack<R>,
  spec: SiloSpec,
  programOf: (spec: SiloSpec) => Promise<PulumiFn>,
  options: { signal?: AbortSignal } = {},
): Promise<R> {
  const resources = (await stack.exportStack()).deployment?.resources ?? [];
  if (spec.region.provider !== 'local' && resources.some((r) => r.protect)) {
    const target = resources.filter((r) => !r.type.startsWith('pulumi:')).map((r) => r.urn);
    try {
      await stack.up({ ...options, target, program: await programOf({ ...spec, teardown: true }) });
    } catch (err) {
      // Whatever the failed update had lifted is put back; the original failure is what counts.
      await stack.up({ ...options, target, program: await programOf(spec) }).catch(() => undefined);
      throw err;
    }
  }
  return stack.destroy(options);
}
