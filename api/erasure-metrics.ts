import { Gauge } from 'prom-client';
import type { Registry as MetricsRegistry } from 'prom-client';
import type { Registry } from '../registry/index.js';

const OVERDUE = 'landlord_erasures_overdue';

/**
 * The erasure requests past their due date and not erased, read from the registry at each scrape
 * (GDPR Art. 12(3): an overdue one is an answer owed to a data subject).
 */
export function erasureMetrics(metrics: MetricsRegistry, store: Registry): void {
  if (metrics.getSingleMetric(OVERDUE)) return;
  new Gauge({
    name: OVERDUE,
    help: 'Data-subject erasure requests past their due date and not erased',
    registers: [metrics],
    async collect() {
      this.set(await store.erasures.countOverdue(new Date().toISOString()));
    },
  });
}
