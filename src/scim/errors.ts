/** RFC 7644 §3.12 `scimType` values grantline answers with. */
export type ScimType = 'invalidFilter' | 'tooMany' | 'uniqueness' | 'mutability' | 'invalidSyntax' | 'invalidPath' | 'noTarget' | 'invalidValue' | 'invalidVers' | 'sensitive';

/** The `schemas` value of every SCIM error body. */
export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** The JSON body of a SCIM error (RFC 7644 §3.12): `status` is a string. */
export interface ScimErrorBody {
  readonly schemas: readonly [typeof ERROR_SCHEMA];
  readonly status: string;
  readonly scimType?: ScimType;
  readonly detail: string;
}

/**
 * A request grantline refuses, as the SCIM answer the IdP gets. Thrown by the request handling and
 * turned into the response by the HTTP layer; `detail` says what to fix and never holds a secret.
 */
export class ScimError extends Error {
  readonly status: number;
  readonly scimType: ScimType | undefined;
  /** Seconds the IdP should wait before retrying (503 only). */
  readonly retryAfterSeconds: number | undefined;

  constructor(status: number, detail: string, scimType?: ScimType, retryAfterSeconds?: number) {
    super(detail);
    this.name = 'ScimError';
    this.status = status;
    this.scimType = scimType;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  body(): ScimErrorBody {
    return { schemas: [ERROR_SCHEMA], status: String(this.status), ...(this.scimType === undefined ? {} : { scimType: this.scimType }), detail: this.message };
  }
}

/** A 400 with its `scimType`. */
export const badRequest = (scimType: ScimType, detail: string): ScimError => new ScimError(400, detail, scimType);
/** A 404 naming what was not found (`User <id>`). */
export const notFound = (what: string): ScimError => new ScimError(404, `${what} not found`);
/** A 409 `uniqueness`: the value is already another resource's. */
export const conflict = (detail: string): ScimError => new ScimError(409, detail, 'uniqueness');
