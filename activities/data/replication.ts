/**
 * The data activities of a DR tenant's replication, failover and failback
 * (docs/disaster-recovery.md): they work on the tenant's two silo stores, the one it is served from
 * (`active`) and the other (`standby`), through dataplane/replication.ts.
 */
import { Context } from '@temporalio/activity';
import pg from 'pg';
import { activeRegionOf, LandlordError, siloNames, storeRegionsOf } from '../../domain/index.js';
import type { ReplicationStatus, TenantRecord } from '../../domain/index.js';
import { serverAnswers, withClient, withDatabase } from '../../dataplane/connection.js';
import { MIGRATIONS_TABLE } from '../../dataplane/migrations.js';
import {
  measureReplication,
  promoteTarget,
  setEndLogin,
  settleFormerSource,
  standbyHeartbeat,
  startReplication,
  stopReplication,
} from '../../dataplane/replication.js';
import type { ReplicationEnd, ReplicationLink, ReplicationMeasure } from '../../dataplane/replication.js';
import { siloOwnerUrl } from '../../dataplane/silo.js';
import { tenantRoleName, unanswered } from '../pool/index.js';
import { reapplyErasures } from './erasure-reapplication.js';
import type { ErasureReapplication } from './erasure-reapplication.js';
import type { RetentionDeps } from './retention.js';
import type { TenantKeyring } from '../keys/index.js';

const q = pg.escapeIdentifier;

/** What replication activities know of a tenant: its home, DR and active regions. */
export type ReplicatedTenant = Pick<
  TenantRecord,
  'id' | 'region' | 'drRegion' | 'activeRegion' | 'deploymentModel'
>;

/** An erasure made within this margin before the standby's newest data is applied again. */
const CLOCK_SKEW_MS = 5 * 60_000;

export interface ReplicationDeps extends Pick<RetentionDeps, 'directory' | 'manifest' | 'store' | 'secret'> {
  keyring?: TenantKeyring;
}

export function createReplicationActivities({
  directory,
  manifest,
  store,
  secret,
  keyring,
}: ReplicationDeps) {
  function end(tenantId: string, region: string): ReplicationEnd {
    if (!directory.regions.has(region))
      throw new LandlordError(
        'Misconfigured',
        `region ${region} has no Postgres server this worker reaches; replication of tenant ${tenantId} needs one`,
      );
    const names = siloNames(tenantId);
    return {
      region,
      serverUrl: directory.serverUrl(region),
      ownerUrl: siloOwnerUrl(directory.serverUrl(region), region, tenantId, secret),
      database: names.database,
      tenantRole: names.role,
    };
  }

  /** The tenant's link from the store it is served from to its other one. */
  function linkOf(tenant: ReplicatedTenant): ReplicationLink {
    if (tenant.deploymentModel !== 'silo' || !tenant.drRegion)
      throw new LandlordError(
        'InvalidTransition',
        `tenant ${tenant.id} has no DR standby to replicate to (a silo tier with DR has one)`,
      );
    const active = activeRegionOf(tenant);
    const other = active === tenant.region ? tenant.drRegion : tenant.region;
    return { tenantId: tenant.id, source: end(tenant.id, active), target: end(tenant.id, other), secret };
  }

  /** Beats while `work` runs: seeding and waiting for a heartbeat take a while. */
  async function beating<T>(work: (beat: () => void) => Promise<T>): Promise<T> {
    const context = Context.current();
    const timer = setInterval(() => context.heartbeat(), 5_000);
    try {
      return await work(() => context.heartbeat());
    } finally {
      clearInterval(timer);
    }
  }

  const statusOf = (link: ReplicationLink, m: ReplicationMeasure): ReplicationStatus => ({
    tenantId: link.tenantId,
    source: link.source.region,
    target: link.target.region,
    state: m.state,
    ...(m.lagMs !== undefined ? { lagMs: m.lagMs } : {}),
    ...(m.lagBytes !== undefined ? { lagBytes: m.lagBytes } : {}),
    ...(m.newestDataAt ? { newestDataAt: m.newestDataAt } : {}),
    measuredAt: new Date().toISOString(),
    ...(m.reason ? { reason: m.reason } : {}),
  });

  /** Counts of each replicated table of one store (the application's tables). */
  async function tableCounts(e: ReplicationEnd): Promise<Record<string, number>> {
    return withClient(e.ownerUrl, async (c) => {
      const counts: Record<string, number> = {};
      for (const t of manifest.tables) {
        const { rows } = await c.query<{ n: string }>(`SELECT count(*) AS n FROM public.${q(t.name)}`);
        counts[t.name] = Number(rows[0]!.n);
      }
      return counts;
    });
  }

  /**
   * A tenant a restore moved into another region (no standby) may have left its former store
   * unfenced, its server down at the time: once that server answers, its login goes off. Read
   * afresh, and never while a restore of the tenant runs (it may be moving back into that store).
   */
  async function fenceFormerStores(tenantId: string): Promise<void> {
    const t = await store.tenants.get(tenantId);
    if (!t || t.drRegion || (t.status !== 'active' && t.status !== 'suspended')) return;
    const running = await store.operations.list({ tenantId, kind: 'restore', status: 'running', limit: 1 });
    if (running.length > 0) return;
    const role = t.deploymentModel === 'pool' ? tenantRoleName(t.id) : siloNames(t.id).role;
    for (const region of storeRegionsOf(t).slice(1)) {
      if (!directory.regions.has(region)) continue;
      const url = directory.serverDatabaseUrl(region, 'postgres');
      if (!(await serverAnswers(url)).answers) continue;
      await withClient(url, async (c) => {
        const { rows } = await c.query<{ rolcanlogin: boolean }>(
          'SELECT rolcanlogin FROM pg_roles WHERE rolname = $1',
          [role],
        );
        if (!rows[0]?.rolcanlogin) return;
        await c.query(`ALTER ROLE ${pg.escapeIdentifier(role)} NOLOGIN`);
        await c.query('SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE usename = $1', [
          role,
        ]);
      });
    }
  }

  return {
    /**
     * Starts (or, when it runs, refreshes) replication from the store the tenant is served from to
     * its other one, whose rows it replaces: the standby kept current, or in a failback the home
     * store re-seeded from the DR one. Never onto the served store.
     */
    async startTenantReplication({
      tenant,
    }: {
      tenant: ReplicatedTenant;
    }): Promise<{ source: string; target: string; seeded: boolean }> {
      const link = linkOf(tenant);
      const started = await beating(() => startReplication(link));
      return { source: link.source.region, target: link.target.region, ...started };
    },

    /**
     * Ends the tenant's replication from its served store (the standby keeps what it holds and
     * becomes a copy of its own), as an offboarding does before deleting each store's rows, so
     * each deletion counts its own store's rows. Idempotent; records the replication `stopped`.
     */
    async stopTenantReplication({
      tenant,
      why = 'to offboard the tenant',
    }: {
      tenant: ReplicatedTenant;
      why?: string;
    }): Promise<{ slotDropped: boolean }> {
      const link = linkOf(tenant);
      const stopped = await stopReplication(link);
      await store.replication.put(
        statusOf(link, { state: 'stopped', reason: `replication was ended ${why}` }),
      );
      return stopped;
    },

    /**
     * Measures the tenant's replication from its active store (a heartbeat there, and the time
     * until the standby holds it), records it in the registry and returns it.
     */
    async measureTenantReplication({
      tenant,
      waitMs,
    }: {
      tenant: ReplicatedTenant;
      waitMs?: number;
    }): Promise<ReplicationStatus> {
      const link = linkOf(tenant);
      let measured: ReplicationMeasure;
      try {
        measured = await beating((beat) => measureReplication(link, { ...(waitMs ? { waitMs } : {}), beat }));
      } catch (err) {
        measured = { state: 'broken', reason: `it could not be measured: ${(err as Error).message}` };
      }
      const status = statusOf(link, measured);
      await store.replication.put(status);
      return status;
    },

    /**
     * Measures the replication of every DR silo tenant on local regions this worker reaches
     * (active or suspended), one after another, each recorded in the registry. On the way, fences
     * the former store of every tenant a restore moved elsewhere (fenceFormerStores).
     */
    async measureReplications({
      waitMs = 10_000,
    }: {
      waitMs?: number;
    }): Promise<{ measured: number; notStreaming: number }> {
      let measured = 0;
      let notStreaming = 0;
      let cursor: string | undefined;
      do {
        const page = await store.tenants.list({ limit: 200, ...(cursor ? { cursor } : {}) });
        for (const t of page.items) {
          if (!t.drRegion && t.recoveryRegion) await fenceFormerStores(t.id).catch(() => undefined);
          if (t.deploymentModel !== 'silo' || !t.drRegion) continue;
          if (t.status !== 'active' && t.status !== 'suspended') continue;
          if (!directory.regions.has(t.region) || !directory.regions.has(t.drRegion)) continue;
          const link = linkOf(t);
          let m: ReplicationMeasure;
          try {
            // Failed over: the former store, once it answers, is fenced and freed of its slot.
            // Not while a failback runs: it fences and promotes that store itself.
            if (
              t.activeRegion &&
              t.activeRegion !== t.region &&
              (await store.operations.list({ tenantId: t.id, kind: 'failback', status: 'running', limit: 1 }))
                .length === 0
            )
              await settleFormerSource(link);
            m = await beating((beat) => measureReplication(link, { waitMs, beat }));
          } catch (err) {
            m = { state: 'broken', reason: `it could not be measured: ${(err as Error).message}` };
          }
          await store.replication.put(statusOf(link, m));
          measured += 1;
          if (m.state !== 'streaming') notStreaming += 1;
        }
        cursor = page.nextCursor;
      } while (cursor);
      return { measured, notStreaming };
    },

    /**
     * Turns the tenant role's login off on one of its stores and ends its sessions (`enabled`
     * false: fencing), or on again; idempotent. A fence of a store whose server does not answer
     * (the region is down) says so rather than fail: the failover goes on without it.
     */
    async setTenantStoreLogin({
      tenant,
      region,
      enabled,
    }: {
      tenant: ReplicatedTenant;
      region: string;
      enabled: boolean;
    }): Promise<{ region: string; fenced: boolean; reason?: string }> {
      const at = end(tenant.id, region);
      // Asked first, briefly: a silent server would hold a connection until this activity timed out.
      if (!enabled) {
        const probe = await serverAnswers(withDatabase(at.serverUrl, 'postgres'));
        if (!probe.answers) return { region, fenced: false, reason: probe.reason };
      }
      try {
        await setEndLogin(at, enabled);
        return { region, fenced: !enabled };
      } catch (err) {
        if (enabled || !unanswered(err)) throw err;
        // A connection that failed (ECONNREFUSED, ETIMEDOUT, ...): nothing there takes writes either.
        return { region, fenced: false, reason: `its server did not answer: ${(err as Error).message}` };
      }
    },

    /**
     * Waits for the tenant's replication from its served store to stream (the first copy done),
     * measuring it every few seconds; fails, to be retried, when it does not within `timeoutMs`.
     */
    async awaitReplicationStreaming({
      tenant,
      timeoutMs = 600_000,
    }: {
      tenant: ReplicatedTenant;
      timeoutMs?: number;
    }): Promise<ReplicationStatus> {
      const link = linkOf(tenant);
      const deadline = Date.now() + timeoutMs;
      return beating(async (beat) => {
        for (;;) {
          const measured = await measureReplication(link, { waitMs: 30_000, beat });
          const status = statusOf(link, measured);
          if (measured.state === 'streaming' || Date.now() > deadline) {
            await store.replication.put(status);
            if (measured.state === 'streaming') return status;
            throw new LandlordError(
              'ReplicationBroken',
              `replication of tenant ${tenant.id} from ${link.source.region} to ${link.target.region} is ${measured.state}` +
                (measured.reason ? `: ${measured.reason}` : ` after ${timeoutMs} ms`),
            );
          }
          await new Promise((r) => setTimeout(r, 1_000));
        }
      });
    },

    /**
     * Brings the tenant's standby level with its fenced active store where that store answers: a
     * heartbeat written after the fence, seen on the standby, proves every write before it is
     * there too. Where it does not answer, says how old the standby's newest data is.
     */
    async catchUpStandby({
      tenant,
      waitMs = 120_000,
    }: {
      tenant: ReplicatedTenant;
      waitMs?: number;
    }): Promise<{ caughtUp: boolean; lagMs?: number; newestDataAt?: string; reason?: string }> {
      const link = linkOf(tenant);
      let measured: ReplicationMeasure;
      try {
        measured = await beating((beat) => measureReplication(link, { waitMs, beat }));
      } catch (err) {
        // The active store did not answer: how old is what the standby holds?
        const held = await standbyHeartbeat(link).catch(() => undefined);
        measured = {
          state: 'broken',
          ...(held?.writtenAt ? { newestDataAt: held.writtenAt } : {}),
          reason: `the active store did not answer: ${(err as Error).message}`,
        };
      }
      // Not streaming (stopped, say): what the standby holds is as old as its newest heartbeat.
      if (measured.state !== 'streaming' && !measured.newestDataAt) {
        const held = await standbyHeartbeat(link).catch(() => undefined);
        if (held?.writtenAt) measured = { ...measured, newestDataAt: held.writtenAt };
      }
      await store.replication.put(statusOf(link, measured)).catch(() => undefined);
      return {
        caughtUp: measured.state === 'streaming',
        ...(measured.lagMs !== undefined ? { lagMs: measured.lagMs } : {}),
        ...(measured.newestDataAt ? { newestDataAt: measured.newestDataAt } : {}),
        ...(measured.reason ? { reason: measured.reason } : {}),
      };
    },

    /**
     * Makes the store replicating from the tenant's served one (its standby) writable: replication ended, sequences moved on, every erasure of the
     * tenant's erasure list made since about its newest data applied again, its login on. The
     * erasures' evidence waits in its outbox. Idempotent.
     */
    async promoteTenantStore({
      tenant,
      operationId,
      requestedBy,
      newestDataAt,
      login = true,
    }: {
      tenant: ReplicatedTenant;
      /** False for a suspended tenant: its role stays unable to log in. */
      login?: boolean;
      operationId: string;
      requestedBy: string;
      /** The newest data the promoted store holds; absent: unknown, every erasure is applied again. */
      newestDataAt?: string;
    }): Promise<{ region: string; slotDropped: boolean } & ErasureReapplication> {
      const link = linkOf(tenant);
      const target = link.target;
      const promoted = await beating(() => promoteTarget(link, { login }));
      const since = newestDataAt
        ? new Date(Date.parse(newestDataAt) - CLOCK_SKEW_MS).toISOString()
        : undefined;
      const erasures = await store.erasures.erasureList(tenant.id, since ? { since } : {});
      let reapplied: ErasureReapplication = { erasuresChecked: 0, erasuresReapplied: 0, rowsErased: 0 };
      if (erasures.length > 0) {
        if (!keyring)
          throw new LandlordError(
            'Misconfigured',
            'this worker has no tenant keyring to match erased subjects with',
          );
        reapplied = await withClient(target.ownerUrl, async (c) => {
          await c.query('BEGIN');
          try {
            const done = await keyring.withSubjectHmac(tenant.id, (hmac) =>
              reapplyErasures(c, {
                manifest,
                tenantId: tenant.id,
                erasures,
                hmac,
                recordKeyPrefix: `failover:${operationId}`,
                entry: {
                  region: target.region,
                  database: target.database,
                  operationId,
                  requestedBy,
                  policy: { reappliedBy: 'failover' },
                },
                onBatch: () => Context.current().heartbeat(),
              }),
            );
            await c.query('COMMIT');
            return {
              erasuresChecked: done.erasuresChecked,
              erasuresReapplied: done.erasuresReapplied,
              rowsErased: done.rowsErased,
            };
          } catch (err) {
            await c.query('ROLLBACK').catch(() => undefined);
            throw err;
          }
        });
      }
      return { region: target.region, slotDropped: promoted.slotDropped, ...reapplied };
    },

    /**
     * Checks the store the tenant is now served from: its role may log in, nothing replicates
     * into it, and, when `compareWith` (the store it came from, caught up) answers, each table
     * holds the same number of rows (less those erasures removed since).
     */
    async verifyServedStore({
      tenant,
      compareWith,
      erasedRows = 0,
      login = true,
    }: {
      tenant: ReplicatedTenant;
      /** Whether its role should be able to log in (not a suspended tenant's). */
      login?: boolean;
      compareWith?: string;
      erasedRows?: number;
    }): Promise<{ region: string; rows: Record<string, number>; compared: boolean }> {
      const region = activeRegionOf(tenant);
      const served = end(tenant.id, region);
      const problems: string[] = [];
      await withClient(served.serverUrl, async (c) => {
        const { rows } = await c.query<{ rolcanlogin: boolean }>(
          'SELECT rolcanlogin FROM pg_catalog.pg_roles WHERE rolname = $1',
          [served.tenantRole],
        );
        if (rows[0]?.rolcanlogin !== login)
          problems.push(`its role ${served.tenantRole} ${login ? 'cannot' : 'can'} log in`);
      });
      await withClient(served.ownerUrl, async (c) => {
        const { rows } = await c.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_catalog.pg_subscription
            WHERE subdbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())`,
        );
        if (rows[0]!.n > 0) problems.push('a subscription still writes into it');
        const tables = await c.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_catalog.pg_tables WHERE schemaname = 'public' AND tablename <> $1`,
          [MIGRATIONS_TABLE],
        );
        if (tables.rows[0]!.n === 0) problems.push('it holds no table of the application');
      });
      const rows = await tableCounts(served);
      let compared = false;
      if (compareWith) {
        const before = await tableCounts(end(tenant.id, compareWith)).catch(() => undefined);
        if (before) {
          compared = true;
          const lost = Object.entries(before)
            .map(([t, n]) => ({ t, missing: n - (rows[t] ?? 0) }))
            .filter((d) => d.missing > 0);
          const total = lost.reduce((sum, d) => sum + d.missing, 0);
          if (total > erasedRows)
            problems.push(
              `it holds fewer rows than ${compareWith} did: ${lost.map((d) => `${d.t} ${d.missing}`).join(', ')}`,
            );
        }
      }
      if (problems.length > 0)
        throw new LandlordError(
          'DataVerificationFailed',
          `tenant ${tenant.id}'s store in ${region} is not ready to serve: ${problems.join('; ')}`,
        );
      return { region, rows, compared };
    },
  };
}

export type ReplicationActivities = ReturnType<typeof createReplicationActivities>;
