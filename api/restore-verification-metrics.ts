import { Gauge } from 'prom-client';
import type { Registry as MetricsRegistry } from 'prom-client';
import type { PolicyCatalog } from '../domain/index.js';
import type { Registry } from '../registry/index.js';
import { fleetDrReport } from './dr-status.js';

const FAILING = 'landlord_dr_verifications_failing';
const OUT_OF_TARGET = 'landlord_dr_tenants_out_of_target';
const BACKUP_AGE = 'landlord_dr_backup_age_seconds';

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
 * RPO targets, and the oldest newest-backup per tier (the data a tier's worst-off tenant would lose).
 */
export function drStandingMetrics(metrics: MetricsRegistry, store: Registry, catalog: PolicyCatalog): void {
  if (metrics.getSingleMetric(OUT_OF_TARGET)) return;
  // One read of the fleet serves both gauges of a scrape.
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
    help: "Per tier, the age of the oldest among its tenants' newest backups (their current RPO)",
    labelNames: ['tier'],
    registers: [metrics],
    async collect() {
      this.reset();
      const worst = new Map<string, number>();
      for (const t of await report())
        if (t.rpoNowMs !== undefined) worst.set(t.tier, Math.max(worst.get(t.tier) ?? 0, t.rpoNowMs));
      for (const [tier, ms] of worst) this.set({ tier }, ms / 1000);
    },
  });
}
