/**
 * Replication to the DR standby (docs/disaster-recovery.md): a DR tenant's silo is copied to its
 * standby silo in the DR partner region by Postgres logical replication. The registry keeps the
 * latest measurement of it per tenant. No zod, no Node built-ins: workflow code imports this module.
 */

/**
 * `seeding`: the standby is copying its initial data; `streaming`: it applies changes as they come;
 * `stopped`: replication is not running, by intent; `broken`: it should run and does not.
 */
export const REPLICATION_STATES = ['seeding', 'streaming', 'stopped', 'broken'] as const;
export type ReplicationState = (typeof REPLICATION_STATES)[number];

/** The latest measurement of a tenant's replication from its active silo to its standby. */
export interface ReplicationStatus {
  tenantId: string;
  /** Region replicated from (the active silo's) and to (the standby's). */
  source: string;
  target: string;
  state: ReplicationState;
  /** Measured: a heartbeat written on the source, seen on the target this many ms later. Absent when not seen. */
  lagMs?: number;
  /** Bytes of WAL the target had not confirmed when measured. */
  lagBytes?: number;
  /** When the newest heartbeat the target holds was written on the source (the age of its newest data). */
  newestDataAt?: string;
  measuredAt: string;
  /** Why it is broken or stopped, in a sentence. */
  reason?: string;
}
