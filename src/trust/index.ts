/**
 * Trust boundaries: what authenticates a message grantline reads from Kafka before it acts on it.
 * Internal topics carry an HMAC only grantline can make (`internal.ts`). Pure: no I/O.
 */
export { InternalKeyring, MAC_HEADER, MIN_INTERNAL_KEY_BYTES, decodeInternalSecret, internalSealer } from './internal.js';
export type { InternalKeysInput, MessageBytes, Opened, OutboundMessage, RefusalReason } from './internal.js';
export { AUTHORIZATION, OperatorKeys, signOperatorCommand, ticketEventOpener } from './operators.js';
export type { ActivePrincipal, OperatorAuthorization } from './operators.js';
export { ed25519PublicKey, signBody, signedBytes, verifyBody } from './signed.js';
export type { SignaturePurpose } from './signed.js';
export { SignedInputs } from './inputs.js';
export type { AdapterKeyConfig, IdentityFeedConfig, OpenedResult } from './inputs.js';
