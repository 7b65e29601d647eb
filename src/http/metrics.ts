import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/**
 * A Prometheus registry with the default process and Node.js metrics. The rest of the app adds its
 * counters and histograms to it (`new Counter({ ..., registers: [registry] })`); `/metrics` serves it.
 */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** The HTTP request duration histogram, labelled by method, route pattern and status. */
export function httpRequestDuration(registry: Registry): Histogram<'method' | 'route' | 'status'> {
  const existing = registry.getSingleMetric('grantline_http_request_duration_seconds');
  if (existing instanceof Histogram) return existing as Histogram<'method' | 'route' | 'status'>;
  return new Histogram({
    name: 'grantline_http_request_duration_seconds',
    help: 'HTTP request duration by method, route pattern and status code',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
}
