/**
 * Chain of custody and signatures: RFC 8785 canonical JSON, SHA-256, the per-ticket hash chain of
 * custody events, Ed25519 detached-JWS signing, the public JWKS, and `verifyMessage` for adapter
 * authors. Pure: no I/O.
 */
export { canonicalJson, jsonSha256, sha256Hex } from './canonical.js';
export { chainEvent, custodyEventHash, verifyChain } from './chain.js';
export type { ChainHead, ChainProblem, ChainVerdict, CustodyEventDraft } from './chain.js';
export { Ed25519Jwk, JWS_ALG, Jwks, SigningKeys, SigningKeysConfig, ed25519Jwk, loadSigningKeys, publicJwks } from './keys.js';
export type { PublicJwks, SigningKeysInput } from './keys.js';
export { JWS_TYP, sign, signGrant, signMessage, signRejection, signRevocation, signingPayload, verifyDetachedJws } from './jws.js';
export type { GrantlineJwsHeader, JwsVerdict } from './jws.js';
export { DECISION_DIGEST_KEY, DECISION_EVENTS, decisionDigest, sealGrant, sealRejection, sealRevocation } from './seal.js';
export type { MessageKind, SealEvent, Sealed, Unsealed } from './seal.js';
export { verifyMessage } from './verify.js';
export type { VerifyCheck, VerifyOptions, VerifyReport } from './verify.js';
