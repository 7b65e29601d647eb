export { decide, DEFAULT_POLICY_VERSION, type DecideOptions } from './decide.js';
export { evaluateApprovals, describeRequirement, type ApprovalContext, type ApprovalOutcome } from './approvals.js';
export { grantIdFor, rejectionIdFor, requestIdFor } from './ids.js';
export { requestFromMapped } from './request.js';
export { looksLikeApproval, approvalLikeComments, APPROVAL_WORDS } from './comments.js';
export { APPROVAL_BOUND_FIELDS, boundChangesAfter, type BoundChange } from './binding.js';
export { checkCatalog, type CatalogProblem, type CatalogProblemCode } from './catalog-check.js';
export { redecide, type WhatIfChange, type WhatIfDifference, type WhatIfReport } from './whatif.js';
export { pendingGrant, renderPendingNote } from './pending.js';
