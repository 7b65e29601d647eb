import type { Reason } from '../model/index.js';

/**
 * Reasons a connector gives in words of the core, so the same problem reads the same from every
 * source.
 */

/**
 * The ticket names nobody as the requester (`where` says which fields the source would name them
 * in). `MISSING_FIELD` on `requester`, from every source: a requester who is named but not found in
 * the directory is `REQUESTER_UNKNOWN`, a different problem with a different fix.
 */
export function missingRequester(where: string): Reason {
  return {
    code: 'MISSING_FIELD',
    field: 'requester',
    message: `The ticket names no requester (${where}); file it as, or on behalf of, the person who needs the access.`,
  };
}
