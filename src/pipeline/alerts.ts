import type { GrantlineProducer } from '../kafka/index.js';
import type { AdapterAlert, LifecycleAlert, PolicyAlert, TrustAlert } from '../model/index.js';
import { CE_TYPES, encodeCloudEvent, type EncodedMessage } from './cloudevents.js';

/** Everything published on `grantline.alerts.v1`. */
export type Alert = LifecycleAlert | PolicyAlert | AdapterAlert | TrustAlert;

/**
 * The one envelope of an alert: a CloudEvent keyed by what it is about (the grant, or the policy
 * documents, or what an adapter alert names as its subject), its id the alert id, so a consumer
 * can drop an alert it has seen.
 */
export function encodeAlert(alert: Alert): EncodedMessage {
  if ('adapter' in alert) {
    return encodeCloudEvent(alert.subject, { id: alert.alertId, source: `urn:grantline:adapter:${alert.adapter}`, type: CE_TYPES.adapterAlert, time: alert.raisedAt, subject: alert.subject }, alert);
  }
  if (alert.kind === 'message.refused') {
    const subject = `${alert.topic}:${alert.partition}:${alert.offset}`;
    return encodeCloudEvent(alert.key ?? subject, { id: alert.alertId, source: 'urn:grantline:trust', type: CE_TYPES.trustAlert, time: alert.raisedAt, subject }, alert);
  }
  if (alert.kind === 'policy.reload.failed') {
    return encodeCloudEvent('policy-documents', { id: alert.alertId, source: 'urn:grantline:policy', type: CE_TYPES.policyAlert, time: alert.raisedAt, subject: 'policy-documents' }, alert);
  }
  return encodeCloudEvent(alert.grantId, { id: alert.alertId, source: 'urn:grantline:lifecycle', type: CE_TYPES.lifecycleAlert, time: alert.raisedAt, subject: alert.grantId }, alert);
}

/** Publishes alerts on the alerts topic with the shared producer; resolves once Kafka has them. */
export async function publishAlerts(producer: Pick<GrantlineProducer, 'send'>, topic: string, alerts: readonly Alert[]): Promise<void> {
  if (alerts.length === 0) return;
  await producer.send(topic, alerts.map(encodeAlert));
}
