import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * An adapter's Prometheus metrics, every series labelled with the adapter's name so several
 * adapters can share one registry. Drift is a gauge (what is wrong now) and a counter (each time
 * it was found), so a dashboard can alert on the gauge and audit the counter.
 */
export function createAdapterMetrics(registry: Registry) {
  const registers = [registry];
  return {
    messages: new Counter({
      name: 'grantline_adapter_messages_total',
      help: 'Messages read from the grant topic, by outcome: grant, revocation, amendment, refused (did not verify), ignored (unknown ce_type).',
      labelNames: ['adapter', 'outcome'] as const,
      registers,
    }),
    actions: new Counter({
      name: 'grantline_adapter_actions_total',
      help: 'Calls to the target, by action (provision, revoke, drift-revoke) and result (ok, failed).',
      labelNames: ['adapter', 'action', 'result'] as const,
      registers,
    }),
    drift: new Gauge({
      name: 'grantline_adapter_drift',
      help: 'Privileges on managed resources that no grant in force explains, at the last reconcile.',
      labelNames: ['adapter'] as const,
      registers,
    }),
    driftFound: new Counter({
      name: 'grantline_adapter_drift_detected_total',
      help: 'Privileges found without a grant in force to explain them (each counted once while it lasts).',
      labelNames: ['adapter'] as const,
      registers,
    }),
    desired: new Gauge({
      name: 'grantline_adapter_desired_privileges',
      help: 'Distinct privileges the grants in force ask for, at the last reconcile.',
      labelNames: ['adapter'] as const,
      registers,
    }),
    actual: new Gauge({
      name: 'grantline_adapter_actual_privileges',
      help: 'Privileges on managed resources that existed at the last reconcile (before acting).',
      labelNames: ['adapter'] as const,
      registers,
    }),
    reconciles: new Histogram({
      name: 'grantline_adapter_reconcile_seconds',
      help: 'Duration of one reconcile (list, provision, revoke, report), by result.',
      labelNames: ['adapter', 'result'] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    ready: new Gauge({
      name: 'grantline_adapter_ready',
      help: '1 once the adapter has read the grant topic to its end and converged the target once.',
      labelNames: ['adapter'] as const,
      registers,
    }),
  };
}

export type AdapterMetrics = ReturnType<typeof createAdapterMetrics>;
