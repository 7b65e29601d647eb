import type { MapResult, PrincipalResolver, TicketSnapshot } from '../../src/connector/contract.js';
import { RequestField, SubjectType, type Approval, type FieldChange, type Reason, type SourceIdentity, type Subject, type TicketSource } from '../../src/model/index.js';
import type { JsonWebhookConfig } from './config.js';
import { SourceTicket } from './source.js';

export interface MapContext {
  readonly connectorId: string;
  readonly config: JsonWebhookConfig;
  readonly directory: PrincipalResolver;
  /** The ticket's address for people (never fetched by grantline). */
  readonly ticketUrl: (ticketId: string) => string;
}

const email = (value: string): SourceIdentity => ({ kind: 'email', value });

/** Open for a decision: neither closed nor cancelled in the source. */
export function isActionable(status: string, config: JsonWebhookConfig): boolean {
  return !config.statuses.closed.includes(status) && !config.statuses.cancelled.includes(status);
}

/** Maps a fetched ticket to a request, or a failure with every reason. Pure. */
export function mapJsonTicket(snapshot: TicketSnapshot, ctx: MapContext): MapResult {
  const t = SourceTicket.parse(snapshot.raw);
  const { config, directory } = ctx;
  const source: TicketSource = { system: 'json-webhook', connectorId: ctx.connectorId, instanceUrl: config.baseUrl, ticketId: t.id, ticketKey: t.key ?? t.id, url: ctx.ticketUrl(t.id) };
  const requester = t.requester === null ? null : { principalId: directory.resolve(email(t.requester.email)), sourceIdentity: email(t.requester.email) };
  const filer = t.filer === null || t.filer.email === t.requester?.email ? null : { principalId: directory.resolve(email(t.filer.email)), sourceIdentity: email(t.filer.email) };
  const actionable = isActionable(t.status, config);
  const reasons: Reason[] = [];
  const r = t.request;

  if (requester === null) reasons.push({ code: 'MISSING_FIELD', field: 'requester', message: 'The ticket names no requester; file it as the person who needs the access.' });
  let entitlementId: string | null = null;
  if (r === null || r.entitlement === null || r.entitlement.trim() === '') {
    reasons.push({ code: 'FREE_TEXT_REQUEST', field: 'entitlementId', message: 'The ticket asks in free text only; choose the entitlement from the list.' });
  } else {
    entitlementId = config.entitlements[r.entitlement] ?? null;
    if (entitlementId === null) reasons.push({ code: 'UNMAPPED_ENTITLEMENT', field: 'entitlementId', message: `"${r.entitlement}" is not an entitlement grantline knows; choose one from the catalog.` });
  }
  let subject: Subject | null = null;
  if (r?.subject) {
    const type = SubjectType.safeParse(r.subject.type);
    if (!type.success || r.subject.id.trim() === '') reasons.push({ code: 'MISSING_FIELD', field: 'subject', message: `The subject (${r.subject.type} "${r.subject.id}") is not a known subject type and id.` });
    else subject = { type: type.data, id: r.subject.id };
  } else if (requester?.principalId) {
    subject = { type: 'human', id: requester.principalId };
  }
  const ttl = r?.ttlSeconds ?? null;
  if (ttl !== null && !(Number.isInteger(ttl) && ttl > 0)) reasons.push({ code: 'MISSING_FIELD', field: 'ttlSeconds', message: `The requested duration ${ttl} is not a positive whole number of seconds.` });

  if (reasons.length > 0 || requester === null || r === null) {
    return { ok: false, failure: { source, requester, reasons, freeText: t.text, actionable } };
  }
  const approvals: Approval[] = t.approvals.map((a) => ({
    approverPrincipalId: directory.resolve(email(a.approver.email)),
    approverSource: email(a.approver.email),
    decision: a.decision,
    decidedAt: new Date(a.decidedAt).toISOString(),
    evidence: { kind: 'source-approval', recordId: a.id },
  }));
  const changes: FieldChange[] = t.changes.flatMap((c) => {
    const field = RequestField.safeParse(c.field);
    return field.success ? [{ field: field.data, at: new Date(c.at).toISOString() }] : [];
  });
  return {
    ok: true,
    request: {
      source,
      requester,
      filer,
      subject,
      entitlementId,
      resource: r.resource,
      environment: r.environment,
      justification: { text: r.justification },
      ...(ttl === null ? {} : { ttlSeconds: ttl }),
      breakGlass: r.breakGlass,
      approvals,
      // As they are: the core picks the approval-looking ones (src/policy/comments.ts).
      comments: t.comments.map((c) => ({ authorSource: email(c.author.email), commentId: c.id, at: new Date(c.createdAt).toISOString(), text: c.body })),
      status: { name: t.status, actionable },
      changes,
      freeText: t.text,
    },
  };
}
