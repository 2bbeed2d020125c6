import { Gauge } from 'prom-client';
import type { Registry as MetricsRegistry } from 'prom-client';
import type { Registry } from '../registry/index.js';

const FAILING = 'landlord_dr_verifications_failing';

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
