import { Counter, Histogram, collectDefaultMetrics } from 'prom-client';
import type { Registry as MetricsRegistry } from 'prom-client';
import type { RequestHandler } from 'express';
import { routeLabel } from './route-label.js';

/**
 * Counts requests and observes their duration by method, route template and status on `registry`,
 * which also gets the default process metrics unless it already has them.
 */
export function httpMetrics(registry: MetricsRegistry): RequestHandler {
  if (!registry.getSingleMetric('process_cpu_user_seconds_total'))
    collectDefaultMetrics({ register: registry });
  const labelNames = ['method', 'route', 'status'] as const;
  const requests = new Counter({
    name: 'landlord_http_requests_total',
    help: 'HTTP requests answered',
    labelNames,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'landlord_http_request_duration_seconds',
    help: 'Time to answer HTTP requests',
    labelNames,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  return (req, res, next) => {
    const stop = duration.startTimer();
    res.on('finish', () => {
      const labels = { method: req.method, route: routeLabel(res), status: String(res.statusCode) };
      requests.inc(labels);
      stop(labels);
    });
    next();
  };
}
