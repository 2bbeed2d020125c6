/**
 * A tenant's disaster-recovery standing (docs/disaster-recovery.md): what it would lose and how
 * long it would take to come back, measured, next to its tier's targets. No zod, no Node built-ins.
 */
import type { ReplicationStatus } from './replication.js';

/** A tenant's recovery targets, from its tier (`dr.rto`, `dr.rpo`). */
export interface RecoveryTargets {
  rto: string;
  rpo: string;
  rtoMs: number;
  rpoMs: number;
}

/** A recovery that happened (a restore; later a failover or a drill), as its operation measured it. */
export interface MeasuredRecovery {
  operationId: string;
  kind: string;
  at: string;
  rtoMs: number;
  rpoMs: number;
  rtoMet: boolean;
  rpoMet: boolean;
}

/** What is known of one tenant, for its standing. */
export interface DrFacts {
  tenantId: string;
  tier: string;
  status: string;
  deploymentModel: 'pool' | 'silo';
  drEnabled: boolean;
  targets: RecoveryTargets;
  /** When its newest backup was taken; absent: none yet. */
  latestBackupAt?: string;
  latestBackupId?: string;
  /** Its latest restore verification. */
  verification?: {
    runId: string;
    backupId?: string;
    ok: boolean;
    at: string;
    restoreMs?: number;
    problems: string[];
  };
  lastRecovery?: MeasuredRecovery;
  /** The latest measurement of its replication to its DR standby, where one was recorded. */
  replication?: ReplicationStatus;
}

export interface TenantDrStatus extends Omit<DrFacts, 'latestBackupAt' | 'latestBackupId'> {
  latestBackup?: { id?: string; takenAt: string; ageMs: number };
  /**
   * The data it would lose were its region lost now: the age of its newest backup, or, for a silo
   * on a DR tier whose replication to its standby is streaming, the measured replication lag.
   */
  rpoNowMs?: number;
  /** The latest verified restore time: how long bringing it back from a backup is known to take. */
  rtoEstimateMs?: number;
  withinTarget: boolean;
  /** Why it is not within target, most serious first; empty when it is. */
  problems: string[];
}

const minutes = (ms: number) =>
  ms >= 3_600_000 ? `${(ms / 3_600_000).toFixed(1)} h` : `${Math.max(0, Math.round(ms / 60_000))} min`;
/** A replication lag is often under a minute, where `minutes` would say 0. */
const lag = (ms: number) => (ms < 60_000 ? `${Math.round(ms / 1000)} s` : minutes(ms));

/**
 * Why a DR tenant's replication to its standby fails its tier; nothing for a tenant without a
 * standby (on a tier without DR, or in the pool, with no silo of its own to replicate).
 */
function replicationProblems(facts: DrFacts): string[] {
  if (!facts.drEnabled || facts.deploymentModel !== 'silo') return [];
  const replication = facts.replication;
  if (!replication) return ['no replication to its standby has been measured'];
  const problems: string[] = [];
  if (replication.state === 'broken' || replication.state === 'stopped')
    problems.push(
      `replication to its standby in ${replication.target} is ${replication.state}: ${replication.reason ?? 'no detail'}`,
    );
  if (replication.lagMs !== undefined && replication.lagMs > facts.targets.rpoMs)
    problems.push(`replication lag ${lag(replication.lagMs)} exceeds its RPO ${facts.targets.rpo}`);
  return problems;
}

/** A tenant's standing at `now` (ms) from what is known of it. */
export function drStatusOf(facts: DrFacts, now: number): TenantDrStatus {
  const { latestBackupAt, latestBackupId, ...rest } = facts;
  // Region loss falls back on the standby before any backup: its replication is named first.
  const problems = replicationProblems(facts);
  const ageMs = latestBackupAt === undefined ? undefined : Math.max(0, now - Date.parse(latestBackupAt));
  const replicationLagMs =
    facts.drEnabled && facts.deploymentModel === 'silo' && facts.replication?.state === 'streaming'
      ? facts.replication.lagMs
      : undefined;
  const rpoNowMs = replicationLagMs ?? ageMs;
  if (ageMs === undefined) problems.push('no backup has been taken yet');
  else if (ageMs > facts.targets.rpoMs)
    problems.push(`its newest backup is ${minutes(ageMs)} old; the tier's RPO is ${facts.targets.rpo}`);
  if (facts.verification && !facts.verification.ok)
    problems.push(
      `its latest restore verification failed: ${facts.verification.problems.join('; ') || 'no detail'}`,
    );
  if (
    facts.verification?.ok &&
    facts.verification.restoreMs !== undefined &&
    facts.verification.restoreMs > facts.targets.rtoMs
  )
    problems.push(
      `its latest verified restore took ${minutes(facts.verification.restoreMs)}; the tier's RTO is ${facts.targets.rto}`,
    );
  const recovery = facts.lastRecovery;
  if (recovery && !recovery.rtoMet)
    problems.push(
      `its last ${recovery.kind} took ${minutes(recovery.rtoMs)}; the tier's RTO is ${facts.targets.rto}`,
    );
  if (recovery && !recovery.rpoMet)
    problems.push(
      `its last ${recovery.kind} lost ${minutes(recovery.rpoMs)} of data; the tier's RPO is ${facts.targets.rpo}`,
    );
  return {
    ...rest,
    ...(latestBackupAt !== undefined
      ? {
          latestBackup: {
            ...(latestBackupId ? { id: latestBackupId } : {}),
            takenAt: latestBackupAt,
            ageMs: ageMs!,
          },
        }
      : {}),
    ...(rpoNowMs !== undefined ? { rpoNowMs } : {}),
    ...(facts.verification?.ok && facts.verification.restoreMs !== undefined
      ? { rtoEstimateMs: facts.verification.restoreMs }
      : {}),
    withinTarget: problems.length === 0,
    problems,
  };
}
