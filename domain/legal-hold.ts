/**
 * Legal holds: while one covers data, no deletion path deletes it (retention runs, erasure,
 * offboarding's final deletion, backup expiry, a restore over held rows). No scope holds the whole
 * tenant; `dataClasses` and `subjects` narrow it (a row is held when its class or its subject is
 * named). A hold ends when it is released or its `until` passes.
 */

export interface LegalHold {
  id: string;
  tenantId: string;
  reason: string;
  /** Held data classes; absent with no subjects either: the whole tenant. */
  dataClasses?: string[];
  /** Held data subjects (values of the manifest's subject keys). */
  subjects?: string[];
  /** The hold ends by itself then (ISO). */
  until?: string;
  createdAt: string;
  createdBy: string;
  releasedAt?: string;
  releasedBy?: string;
  releaseReason?: string;
}

/** Whether a hold is in force at `at` (ISO). */
export const holdActive = (hold: LegalHold, at: string): boolean =>
  hold.releasedAt === undefined && (hold.until === undefined || hold.until > at);

/** Whether a hold covers data of `dataClass`, about `subject` when given, at `at`. */
export function holdCovers(
  hold: LegalHold,
  data: { dataClass?: string; subject?: string },
  at: string,
): boolean {
  if (!holdActive(hold, at)) return false;
  if (!hold.dataClasses && !hold.subjects) return true;
  if (data.dataClass !== undefined && hold.dataClasses?.includes(data.dataClass)) return true;
  return data.subject !== undefined && (hold.subjects?.includes(data.subject) ?? false);
}

/**
 * Whether a hold covers storage objects of `dataClass` at `at`. An object has no subject key, so a
 * hold naming any subject covers every object: nothing says which are about that subject.
 */
export const holdCoversObjects = (hold: LegalHold, dataClass: string, at: string): boolean =>
  holdCovers(hold, { dataClass }, at) || (holdActive(hold, at) && (hold.subjects?.length ?? 0) > 0);
