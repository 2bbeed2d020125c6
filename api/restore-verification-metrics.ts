import { Gauge } from 'prom-client';
import type { Registry as MetricsRegistry } from 'prom-client';
import type { PolicyCatalog } from '../domain/index.js';
import type { Registry } from '../registry/index.js';
import { fleetDrReport } from './dr-status.js';

const FAILING = 'landlord_dr_verifications_failing';
const OUT_OF_TARGET = 'landlord_dr_tenants_out_of_target';
const BACKUP_AGE = 'landlord_dr_backup_age_seconds';
const REPLICATION_LAG = 'landlord_dr_replication_lag_seconds';
const REPLICATION_BROKEN = 'landlord_dr_replication_broken';

/**
 * The active and suspended tenants whose latest restore verification failed, read from the
 * registry at each scrape: each one a tenant whose backup would not bring it back today.
 */
export function restoreVerificationMetrics(metrics: MetricsRegistry, store: Registry): void {
  if (metrics.getSingleMetric(FAILING)) return;
  new Gauge({
    name: FAILING,
    help: 'Active and suspended tenants whose latest restore verification failed',
    registers: [metrics],
    async collect() {
      this.set(await store.verifications.countFailingTenants());
    },
  });
}

/**
 * The fleet's recovery standing at each scrape (api/dr-status.ts): tenants out of their tier's RTO or
 * RPO targets, the oldest newest-backup per tier, and the DR silos' replication to their standbys:
 * the highest lag per tier (the data a tier's worst-off standby would lose) and how many do not run.
 */
export function drStandingMetrics(metrics: MetricsRegistry, store: Registry, catalog: PolicyCatalog): void {
  if (metrics.getSingleMetric(OUT_OF_TARGET)) return;
  // One read of the fleet serves every gauge of a scrape.
  let cached: { at: number; report: ReturnType<typeof fleetDrReport> } | undefined;
  const report = () => {
    if (!cached || Date.now() - cached.at > 1000)
      cached = { at: Date.now(), report: fleetDrReport(store, catalog) };
    return cached.report;
  };
  new Gauge({
    name: OUT_OF_TARGET,
    help: "Active and suspended tenants outside their tier's RTO or RPO (GET /v1/dr/report)",
    registers: [metrics],
    async collect() {
      this.set((await report()).filter((t) => !t.withinTarget).length);
    },
  });
  new Gauge({
    name: BACKUP_AGE,
    help: "Per tier, the age of the oldest among its tenants' newest backups",
    labelNames: ['tier'],
    registers: [metrics],
    async collect() {
      this.reset();
      const worst = new Map<string, number>();
      // Not rpoNowMs: for a DR silo whose replication streams, that is the replication lag.
      for (const t of await report())
        if (t.latestBackup) worst.set(t.tier, Math.max(worst.get(t.tier) ?? 0, t.latestBackup.ageMs));
      for (const [tier, ms] of worst) this.set({ tier }, ms / 1000);
    },
  });
  // As in its standing (domain/dr-status.ts), only a tenant that should have a standby counts.
  const replications = async () =>
    (await report()).flatMap(({ tier, drEnabled, deploymentModel, replication }) =>
      drEnabled && deploymentModel === 'silo' && replication ? [{ tier, ...replication }] : [],
    );
  new Gauge({
    name: REPLICATION_LAG,
    help: "Per tier, the highest measured lag of its DR tenants' replication to their standbys",
    labelNames: ['tier'],
    registers: [metrics],
    async collect() {
      this.reset();
      const worst = new Map<string, number>();
      for (const { tier, lagMs } of await replications())
        if (lagMs !== undefined) worst.set(tier, Math.max(worst.get(tier) ?? 0, lagMs));
      for (const [tier, ms] of worst) this.set({ tier }, ms / 1000);
    },
  });
  new Gauge({
    name: REPLICATION_BROKEN,
    help: 'Active and suspended DR tenants whose replication to their standby is broken or stopped',
    registers: [metrics],
    async collect() {
      const down = (await replications()).filter((r) => r.state === 'broken' || r.state === 'stopped');
      this.set(down.length);
    },
  });
}
