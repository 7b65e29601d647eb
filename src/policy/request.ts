import type { EntitlementRequest, MappedRequest } from '../model/index.js';
import { approvalLikeComments } from './comments.js';
import { requestIdFor } from './ids.js';

/**
 * The canonical request the policy decides, from what a connector mapped: the core's request id,
 * and the approval-looking comments picked from the ticket's comments by the core's rule. The
 * comments themselves are left out, so a plain comment does not change what is decided.
 */
export function requestFromMapped(mapped: MappedRequest): EntitlementRequest {
  const { comments, ...fields } = mapped;
  return { ...fields, requestId: requestIdFor(fields), approvalLikeComments: approvalLikeComments(comments) };
}
