import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The pipeline's Prometheus metrics, registered once per process on the app's registry. */
export function createPipelineMetrics(registry: Registry) {
  const registers = [registry];
  return {
    webhooks: new Counter({
      name: 'grantline_webhook_deliveries_total',
      help: 'Webhook deliveries by connector and outcome (accepted, ignored, bad_signature, ..., unavailable).',
      labelNames: ['connector', 'outcome'] as const,
      registers,
    }),
    replayBodies: new Gauge({
      name: 'grantline_ingress_replay_bodies',
      help: 'Webhook bodies ingress remembers to refuse replays (bounded by pipeline.replayMaxEntries; about 430 bytes of heap each).',
      registers,
    }),
    ingressLatency: new Histogram({
      name: 'grantline_ingress_seconds',
      help: 'Time from request to durable write in Kafka for accepted deliveries.',
      labelNames: ['connector'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    decisions: new Counter({
      name: 'grantline_decisions_total',
      help: 'Decisions and revocations published, by connector and outcome.',
      labelNames: ['connector', 'outcome'] as const,
      registers,
    }),
    sourceFetches: new Counter({
      name: 'grantline_source_fetches_total',
      help: 'Authoritative ticket fetches from source APIs, by connector and result.',
      labelNames: ['connector', 'result'] as const,
      registers,
    }),
    batches: new Histogram({
      name: 'grantline_processor_batch_seconds',
      help: 'Processor batch duration (fetch, decide, transaction).',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    dlq: new Counter({
      name: 'grantline_dlq_total',
      help: 'Events sent to the dead-letter queue, by stage.',
      labelNames: ['stage'] as const,
      registers,
    }),
    messagesRefused: new Counter({
      name: 'grantline_messages_refused_total',
      help: 'Messages grantline read and refused to act on (sent to the DLQ, alerted), by topic and reason: unsealed, unknown-key, bad-mac, malformed (internal topics), unsigned, bad-signature, not-authorized (signed inputs), out-of-scope (a write-back task naming a ticket outside its connector\'s scope).',
      labelNames: ['topic', 'reason'] as const,
      registers,
    }),
    pausedPartitions: new Gauge({
      name: 'grantline_paused_partitions',
      help: 'Partitions paused while a source API is unavailable or rate limiting.',
      labelNames: ['stage'] as const,
      registers,
    }),
    writebacks: new Counter({
      name: 'grantline_writebacks_total',
      help: 'Ticket write-backs by connector and result (written, already_present, failed).',
      labelNames: ['connector', 'result'] as const,
      registers,
    }),
    lifecycle: new Counter({
      name: 'grantline_lifecycle_events_total',
      help: 'Lifecycle actions by kind: revoke:<trigger> (revocations asked), record:<custody kind> (evidence recorded), alert:<alert kind> (overdue revocations, escalations).',
      labelNames: ['kind'] as const,
      registers,
    }),
    policyReloads: new Counter({
      name: 'grantline_policy_reload_total',
      help: 'Reloads of the catalog and directory, by document and outcome: reloaded (new version in force), unchanged, invalid (old version kept), refused (valid, not applied: the other document is invalid or its grant topic could not be created).',
      labelNames: ['document', 'outcome'] as const,
      registers,
    }),
    policyDocumentValid: new Gauge({
      name: 'grantline_policy_document_valid',
      help: '1 when the last version read of the document (catalog, directory) was valid, 0 while an invalid one is refused and the previous version stays in force.',
      labelNames: ['document'] as const,
      registers,
    }),
    directoryConflicts: new Gauge({
      name: 'grantline_directory_conflicts',
      help: 'Facts on which the directory file and the identity provider (SCIM) disagree in the directory in force, by kind (principal, identity, group, nhi); SCIM wins for people and groups.',
      labelNames: ['kind'] as const,
      registers,
    }),
    statePartitions: new Gauge({
      name: 'grantline_state_partitions',
      help: 'Ticket-events partitions whose ticket state this process holds (the partitions its processor owns).',
      registers,
    }),
    stateTickets: new Gauge({
      name: 'grantline_state_tickets',
      help: 'Tickets whose state this process holds, by partition (only partitions it owns).',
      labelNames: ['partition'] as const,
      registers,
    }),
    stateRestore: new Histogram({
      name: 'grantline_state_restore_seconds',
      help: 'Time to restore the ticket state of newly assigned partitions from grantline.ticket-state.v1 (read to its end, read committed).',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    reviewsOverdue: new Gauge({
      name: 'grantline_reviews_overdue',
      help: 'Break-glass post-event reviews past their deadline and not closed, in the state this lifecycle watches.',
      registers,
    }),
    trackedGrants: new Gauge({
      name: 'grantline_tracked_grants',
      help: 'Grants in the lifecycle state (active or awaiting revocation confirmation).',
      registers,
    }),
  };
}

export type PipelineMetrics = ReturnType<typeof createPipelineMetrics>;
