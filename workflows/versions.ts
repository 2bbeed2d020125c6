/**
 * Projection versions. The registry keeps a write only when its version is above the stored one,
 * so whoever writes draws versions that order its writes; these are the rules, in one place.
 *
 * - An operation's run `r` owns the block `r * 1000 … r * 1000 + 999`. Its snapshot starts at the
 *   block's first version, and the run's child workflow adds one per write (OperationTracker).
 * - The tenant workflow's own write for a run (a cancel before it started, an end it had to make
 *   itself) takes the middle of the block, above anything a child writes.
 * - Tenant records: each operation run gets the next block above the last version allotted, and
 *   its child adds one per write.
 */
export const VERSION_BLOCK = 1000;

/** The first version of run `run`'s snapshot. */
export const firstVersionOf = (run: number) => run * VERSION_BLOCK;

/** The version of the tenant workflow's own write of run `run`'s snapshot. */
export const ownWriteVersion = (run: number) => run * VERSION_BLOCK + VERSION_BLOCK / 2;

/** The first tenant record version of the next run, after `last` (the highest allotted so far). */
export const nextTenantBlock = (last: number) => (Math.floor(last / VERSION_BLOCK) + 1) * VERSION_BLOCK;
