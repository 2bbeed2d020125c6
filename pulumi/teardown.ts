/**
 * How a silo stack is destroyed. A cloud silo's data resources are protected (`protect`, and the
 * database's own deletion protection) when its tier asks for it, so a plain `pulumi destroy`
 * refuses them; and a destroy that stopped at the database would already have removed the
 * bucket's TLS-only policy, encryption and versioning. So the destroy path first runs an update
 * of its own with `teardown` set (protection lifted, the final snapshot named), and destroys only
 * once that update has succeeded: a refused update leaves the stack exactly as it was.
 */
import type { PulumiFn } from '@pulumi/pulumi/automation/index.js';
import type { SiloSpec } from '../domain/index.js';

/** The two Automation API calls a destroy makes, as Stack has them. */
export interface DestroyableStack<R> {
  up(options: { program: PulumiFn; signal?: AbortSignal }): Promise<unknown>;
  destroy(options: { signal?: AbortSignal }): Promise<R>;
}

/** Local silos protect nothing; cloud silos always get the teardown update (it names the final snapshot). */
export const needsTeardownUpdate = (spec: SiloSpec) => spec.region.provider !== 'local';

/** Lifts protection in an update of its own, then destroys. */
export async function destroySiloStack<R>(
  stack: DestroyableStack<R>,
  spec: SiloSpec,
  programOf: (spec: SiloSpec) => Promise<PulumiFn>,
  options: { signal?: AbortSignal } = {},
): Promise<R> {
  if (needsTeardownUpdate(spec))
    await stack.up({ ...options, program: await programOf({ ...spec, teardown: true }) });
  return stack.destroy(options);
}
