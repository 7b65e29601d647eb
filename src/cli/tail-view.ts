/**
 * What `grantline tail` prints for one consumed message: a JSON record (`--json`) or one readable
 * line, with `verifyMessage`'s verdict beside every signed message (grant, rejection, revocation).
 */
import { verifyMessage, type Jwks, type VerifyCheck } from '../custody/index.js';
import type { InboundHeaderValue, InboundMessage } from '../kafka/index.js';

/** The verdict of `grantline verify` on a signed message: valid, and the checks that failed. */
export type TailVerdict = { valid: boolean; kind: string; failed: VerifyCheck[] };

export interface TailedMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  /** The CloudEvent type (`ce_type` header), when the message has one. */
  type: string | null;
  /** The value as parsed JSON; the raw text when it is not JSON; null for a tombstone. */
  value: unknown;
  verdict?: TailVerdict;
}

function header(value: InboundHeaderValue): string | null {
  const first = Array.isArray(value) ? value[0] : value;
  if (first === undefined) return null;
  return Buffer.isBuffer(first) ? first.toString('utf8') : first;
}

function parse(value: Buffer | null): unknown {
  if (value === null) return null;
  const text = value.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

const record = (v: unknown): Record<string, unknown> | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

const SIGNED_OUTCOMES = new Set(['granted', 'rejected', 'revoked']);

/** A message carries a grantline signature (or claims a signed outcome): `verify` judges it. */
function isSigned(value: Record<string, unknown> | undefined): boolean {
  return value !== undefined && ('signature' in value || SIGNED_OUTCOMES.has(String(value['outcome'])));
}

/** Decodes one message and, when it is signed, verifies it as `grantline verify` would (no custody log given). */
export function describeMessage(topic: string, partition: number, message: InboundMessage, jwks: Jwks, now: Date): TailedMessage {
  const value = parse(message.value);
  const tailed: TailedMessage = {
    topic,
    partition,
    offset: message.offset,
    key: message.key === null ? null : message.key.toString('utf8'),
    type: header(message.headers?.['ce_type']),
    value,
  };
  if (isSigned(record(value))) {
    const report = verifyMessage(value, jwks, { now });
    tailed.verdict = { valid: report.ok, kind: report.kind, failed: report.checks.filter((c) => !c.ok) };
  }
  return tailed;
}

/** The tickets a message is about (keys and ids), wherever its kind names them; a dead letter by its original value. */
export function ticketsOf(value: unknown): string[] {
  const doc = record(value);
  if (!doc) return [];
  const out: string[] = [];
  for (const holder of [doc['source'], doc['ticket'], doc]) {
    const r = record(holder);
    for (const field of ['ticketKey', 'ticketId']) {
      const v = text(r?.[field]);
      if (v !== undefined) out.push(v);
    }
  }
  const original = record(doc['original']);
  const inner = text(original?.['value']);
  if (inner !== undefined) {
    try {
      out.push(...ticketsOf(JSON.parse(inner)));
    } catch {
      // A dead letter whose original is not JSON names no ticket.
    }
  }
  return out;
}

function ticketLabel(v: Record<string, unknown>): string {
  const t = record(v['source']) ?? record(v['ticket']);
  const key = text(t?.['ticketKey']) ?? text(t?.['ticketId']);
  return key === undefined ? '' : ` ticket ${key}`;
}

function summary(v: Record<string, unknown>): string {
  const ticket = ticketLabel(v);
  switch (v['outcome']) {
    case 'granted': {
      const subject = record(v['subject']);
      return `grant ${text(v['grantId']) ?? '?'}${ticket} ${text(v['entitlementId']) ?? '?'} for ${text(subject?.['id']) ?? '?'} until ${text(v['expiresAt']) ?? '?'}`;
    }
    case 'rejected': {
      const reasons = Array.isArray(v['reasons']) ? v['reasons'].map((r) => text(record(r)?.['code']) ?? '?') : [];
      return `rejection ${text(v['rejectionId']) ?? '?'}${ticket} ${reasons.join(', ')}`;
    }
    case 'revoked':
      return `revocation ${text(v['revocationId']) ?? '?'} of grant ${text(v['grantId']) ?? '?'}${ticket} (${text(v['trigger']) ?? '?'}) by ${text(v['actor']) ?? '?'}`;
  }
  if (typeof v['hash'] === 'string' && typeof v['seq'] === 'number') {
    return `custody ${text(v['kind']) ?? '?'}${ticket} seq ${v['seq']} by ${text(v['actor']) ?? '?'}`;
  }
  if (typeof v['alertId'] === 'string') return `alert ${text(v['kind']) ?? '?'}${ticket}: ${text(v['message']) ?? ''}`;
  const original = record(v['original']);
  if (typeof v['stage'] === 'string' && original) {
    return `dead letter ${v['stage']}: ${text(v['reason']) ?? '?'} (from ${text(original['topic']) ?? '?'} partition ${String(original['partition'])} offset ${text(original['offset']) ?? '?'})`;
  }
  return JSON.stringify(v);
}

function verdictText(verdict: TailVerdict): string {
  if (verdict.valid) return 'VALID';
  return `INVALID (${verdict.failed.map((c) => `${c.name}: ${c.detail}`).join('; ')})`;
}

/** One readable line: where the message sits, what it says, and the verdict on its signature. */
export function formatLine(m: TailedMessage): string {
  const at = `${m.topic}[${m.partition}]@${m.offset}`;
  const v = record(m.value);
  const body = m.value === null ? 'tombstone' : v ? summary(v) : JSON.stringify(m.value);
  return `${at}  ${body}${m.verdict ? `  ${m.verdict.valid ? '✔' : '✘'} ${verdictText(m.verdict)}` : ''}`;
}
