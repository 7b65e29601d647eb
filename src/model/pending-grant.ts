import { z } from 'zod';
import { Reason } from './common.js';
import { Subject } from './request.js';

/**
 * What a request that maps and passes every rule but its approvals would be granted once approved,
 * and who must approve it: written on the ticket once, for its approvers to see what they approve.
 */
export const PendingGrant = z.object({
  entitlementId: z.string().min(1),
  subject: Subject,
  resource: z.string().min(1),
  environment: z.string().min(1),
  ttlSeconds: z.number().int().positive(),
  /** `catalog-default`: the ticket asked for no duration and the catalog's default applies. */
  ttlSource: z.enum(['requested', 'catalog-default']),
  /** The requirement in words, e.g. "2 approvers from data-platform-owners". */
  requirement: z.string().min(1),
  /** Per group the entry names, the active people in it (id and name) who may approve this request. */
  approvers: z.array(z.object({ group: z.string().min(1), people: z.array(z.object({ id: z.string().min(1), name: z.string().min(1) })) })),
  /** People in those groups who may not approve this request, and why (the requester, the filer, the subject, the owner). */
  excluded: z.array(z.object({ id: z.string().min(1), why: z.string().min(1) })),
  /** Why it is not granted yet: the approval reasons of the decision (who counted, what did not count and why). */
  missing: z.array(Reason).min(1),
});
export type PendingGrant = z.infer<typeof PendingGrant>;
