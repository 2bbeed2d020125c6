/**
 * The registry's side of a data-subject erasure (docs/erasure-and-offboarding.md), on the
 * lifecycle queue: the request begun (its subject's HMAC computed, its holds read), marked blocked
 * when a hold stops it, and ended with its subject forgotten. The rows and objects themselves are
 * erased on the data queue (activities/data/erasure.ts).
 */
import { erasureDataClasses, holdsBlockingErasure, LandlordError } from '../../domain/index.js';
import type { DataPlaneManifest, ErasureCount, LegalHold } from '../../domain/index.js';
import type { Registry } from '../../registry/index.js';

/** What computes a subject's per-tenant HMAC (activities/keys/tenant-keyring.ts). */
export interface SubjectHmacs {
  subjectHmac(tenantId: string, subject: string): Promise<string>;
}

export interface ErasureRef {
  tenantId: string;
  erasureId: string;
  operationId: string;
}

/** Where an erasure stands before it starts, or stopped: the holds that keep it waiting, if any. */
export interface ErasureHolds {
  /** Ids of the holds that keep it waiting; empty: it may go on. */
  blockedBy: string[];
  /** When all of those holds will have ended by themselves (ISO), if each has an `until`. */
  endsBy?: string;
}

export function createErasureRequestActivities({
  store,
  keyring,
  manifest,
}: {
  store: Registry;
  keyring: SubjectHmacs;
  manifest: Pick<DataPlaneManifest, 'tables' | 'storage'>;
}) {
  const holdsNow = async (tenantId: string, subject: string): Promise<ErasureHolds> => {
    const at = new Date().toISOString();
    const holds = holdsBlockingErasure(
      await store.legalHolds.list(tenantId),
      erasureDataClasses(manifest),
      subject,
      at,
    );
    return { blockedBy: holds.map((h) => h.id), ...endsBy(holds) };
  };

  return {
    /**
     * Begins (or resumes) an erasure: links it to its operation, computes the subject's HMAC, and
     * reads the holds; the request shows `erasing`, or `blocked-by-hold` naming them.
     */
    async beginErasure(ref: ErasureRef): Promise<ErasureHolds & { subjectHmac: string }> {
      const subject = await store.erasures.subjectOf(ref.tenantId, ref.erasureId);
      if (subject === undefined) {
        const request = await store.erasures.get(ref.tenantId, ref.erasureId);
        throw new LandlordError(
          'ValidationFailed',
          request
            ? `erasure ${ref.erasureId} is ${request.status} already`
            : `tenant ${ref.tenantId} has no erasure request ${ref.erasureId}`,
        );
      }
      await store.erasures.attach(ref.tenantId, ref.erasureId, ref.operationId);
      const subjectHmac = await keyring.subjectHmac(ref.tenantId, subject);
      const holds = await holdsNow(ref.tenantId, subject);
      await store.erasures.progress(ref.tenantId, ref.erasureId, {
        status: holds.blockedBy.length > 0 ? 'blocked-by-hold' : 'erasing',
        subjectHmac,
        blockedBy: holds.blockedBy,
      });
      return { ...holds, subjectHmac };
    },

    /** Marks an erasure a hold stopped midway as waiting for it, with what it has done so far. */
    async erasureBlocked(
      ref: ErasureRef & { blockedBy: string[]; counts: ErasureCount[] },
    ): Promise<ErasureHolds> {
      await store.erasures.progress(ref.tenantId, ref.erasureId, {
        status: 'blocked-by-hold',
        blockedBy: ref.blockedBy,
        counts: ref.counts,
      });
      const holds = (await store.legalHolds.list(ref.tenantId)).filter((h) => ref.blockedBy.includes(h.id));
      return { blockedBy: ref.blockedBy, ...endsBy(holds) };
    },

    /** Records what an erasure has done so far (shown while it runs). */
    async erasureProgress(ref: ErasureRef & { counts: ErasureCount[] }): Promise<void> {
      await store.erasures.progress(ref.tenantId, ref.erasureId, { status: 'erasing', counts: ref.counts });
    },

    /** Ends an erasure: its counts kept, its subject forgotten, its HMAC on the tenant's erasure list. */
    async completeErasure(
      ref: ErasureRef & { subjectHmac: string; counts: ErasureCount[] },
    ): Promise<{ erasedAt: string }> {
      const entry = await store.erasures.complete(ref.tenantId, ref.erasureId, {
        subjectHmac: ref.subjectHmac,
        counts: ref.counts,
      });
      return { erasedAt: entry.erasedAt };
    },
  };
}

function endsBy(holds: readonly LegalHold[]): { endsBy?: string } {
  const ends = holds.map((h) => h.until);
  if (ends.length === 0 || ends.some((u) => u === undefined)) return {};
  return { endsBy: (ends as string[]).sort().at(-1)! };
}

export type ErasureRequestActivities = ReturnType<typeof createErasureRequestActivities>;
