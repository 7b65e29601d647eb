import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { Secret, SecretString } from '../connector/secret.js';
import { integer, nonEmpty } from './fields.js';

const BROKER = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):\d{1,5}$/;

const PEM_CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** The certificates in a PEM text, or undefined when it holds none or one does not parse. */
function pemCertificates(text: string): X509Certificate[] | undefined {
  const blocks = text.match(PEM_CERT_BLOCK);
  if (blocks === null) return undefined;
  try {
    return blocks.map((block) => new X509Certificate(block));
  } catch {
    return undefined;
  }
}

function pemPrivateKey(text: string): KeyObject | undefined {
  if (!/-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/.test(text)) return undefined;
  try {
    return createPrivateKey({ key: text, format: 'pem' });
  } catch {
    return undefined;
  }
}

const CERT_HINT = 'expected PEM certificates ("-----BEGIN CERTIFICATE-----"; use ${file:PATH})';
const pemCerts = z.string({ error: CERT_HINT }).refine((t) => pemCertificates(t) !== undefined, `not a PEM certificate: ${CERT_HINT}`);

// Checked before it becomes a Secret, so the message can say what is wrong without the value.
const pemKey = z
  .string({ error: 'expected a PEM private key (use ${file:PATH})' })
  .superRefine((t, ctx) => {
    if (t.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----') || /Proc-Type: 4,ENCRYPTED/.test(t)) {
      ctx.addIssue({ code: 'custom', message: 'an encrypted private key is not supported; give the key unencrypted (kept in a file only grantline can read)' });
    } else if (pemPrivateKey(t) === undefined) {
      ctx.addIssue({ code: 'custom', message: 'not a PEM private key ("-----BEGIN PRIVATE KEY-----", PKCS#8, or PKCS#1 RSA / SEC1 EC)' });
    }
  })
  .pipe(SecretString);

const TlsObject = z
  .strictObject({
    /** CAs that sign the brokers' certificates. Absent: Node's bundled public CAs. */
    ca: pemCerts.optional(),
    /** Client certificate (chain) for mTLS; needs `key`. */
    cert: pemCerts.optional(),
    key: pemKey.optional(),
    /** Off only for a throwaway test broker: it accepts any certificate, so anyone can impersonate the broker. */
    rejectUnauthorized: z.boolean({ error: 'expected true or false' }).default(true),
    /** TLS SNI and the name the broker certificate must carry, when it differs from the broker host. */
    servername: nonEmpty.optional(),
  })
  .superRefine((tls, ctx) => {
    if (tls.cert !== undefined && tls.key === undefined) ctx.addIssue({ code: 'custom', path: ['key'], message: 'required when kafka.ssl.cert is set (the client certificate needs its private key)' });
    if (tls.key !== undefined && tls.cert === undefined) ctx.addIssue({ code: 'custom', path: ['cert'], message: 'required when kafka.ssl.key is set (the private key needs its client certificate)' });
    // Only once both parsed (zod may run this after a failed field, with its raw value).
    if (typeof tls.cert === 'string' && tls.key instanceof Secret) {
      const leaf = pemCertificates(tls.cert)?.[0];
      const key = pemPrivateKey(tls.key.reveal());
      if (leaf !== undefined && key !== undefined && !leaf.checkPrivateKey(key)) {
        ctx.addIssue({ code: 'custom', path: ['key'], message: 'does not belong to kafka.ssl.cert (the first certificate)' });
      }
    }
  });

/** `kafka.ssl`: `true` (TLS with the public CAs), `false`/absent (plaintext), or the TLS settings. */
const Tls = z
  .union([z.boolean(), TlsObject], { error: 'expected true, false or { ca, cert, key, rejectUnauthorized, servername }' })
  .transform((v) => (v === false ? undefined : v === true ? { rejectUnauthorized: true } : v));

const usernamePassword = { username: nonEmpty, password: SecretString };

function tokenEndpointProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'expected an https:// URL';
  }
  if (parsed.protocol === 'https:') return undefined;
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname);
  // The client secret goes to this URL: plain HTTP only where it never leaves the machine.
  if (parsed.protocol === 'http:' && loopback) return undefined;
  return 'expected an https:// URL (plain http:// only on 127.0.0.1/localhost: the client secret is sent to it)';
}

// RFC 7628 section 3.1: extension keys are letters, "auth" is reserved; values are printable.
const Extensions = z
  .record(z.string(), z.string({ error: 'expected a string' }).regex(/^[\x21-\x7E \t\r\n]+$/, 'expected printable ASCII'))
  .superRefine((extensions, ctx) => {
    for (const key of Object.keys(extensions)) {
      if (key === 'auth') ctx.addIssue({ code: 'custom', path: [key], message: '"auth" is reserved' });
      else if (!/^[A-Za-z]+$/.test(key)) ctx.addIssue({ code: 'custom', path: [key], message: 'an extension name is letters only' });
    }
  })
  .optional();

const Sasl = z.discriminatedUnion(
  'mechanism',
  [
    z.strictObject({ mechanism: z.literal('plain'), ...usernamePassword }),
    z.strictObject({ mechanism: z.literal('scram-sha-256'), ...usernamePassword }),
    z.strictObject({ mechanism: z.literal('scram-sha-512'), ...usernamePassword }),
    z.strictObject({
      mechanism: z.literal('oauthbearer'),
      /** OAuth 2.0 token endpoint; tokens come from the client credentials grant (RFC 6749 4.4). */
      tokenEndpoint: nonEmpty.superRefine((url, ctx) => {
        const problem = tokenEndpointProblem(url);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
      }),
      clientId: nonEmpty,
      clientSecret: SecretString,
      scope: nonEmpty.optional(),
      /** How the client authenticates to the token endpoint (RFC 6749 2.3.1): HTTP Basic, or in the form body. */
      clientAuth: z.enum(['basic', 'post'], { error: 'expected basic or post' }).default('basic'),
      /** SASL extensions sent with the token (Confluent Cloud: `logicalCluster`, `identityPoolId`). */
      extensions: Extensions,
    }),
  ],
  { error: (issue) => (issue.code === 'invalid_union' ? 'expected plain, scram-sha-256, scram-sha-512 or oauthbearer' : undefined) },
);

/**
 * The `kafka` section. Security rule: SASL over plaintext sends a PLAIN password or an OAuth token
 * in clear (and SCRAM sessions unencrypted), so `sasl` without `ssl` is refused unless
 * `allowPlaintextSasl: true` says it is a local test broker (then every client logs a warning).
 */
export const KafkaSection = z
  .strictObject({
    brokers: z.array(z.string({ error: 'expected host:port' }).regex(BROKER, 'expected host:port')).min(1, 'at least one broker is needed'),
    clientId: nonEmpty.default('grantline'),
    topicPrefix: z.string().regex(/^[A-Za-z0-9._-]*$/, 'only letters, digits, ".", "_" and "-"').default(''),
    partitions: integer(1, 10_000).default(3),
    /**
     * Partitions of `grantline.ticket-index.v1`. A lookup (`grantline evidence`, `revoke`) reads the
     * one partition a key hashes to, so the more partitions, the less of the index each lookup reads.
     * Absent: 64 (`DEFAULT_INDEX_PARTITIONS`).
     */
    indexPartitions: integer(1, 10_000).optional(),
    /** Replicas of each topic grantline creates; absent: the broker's `default.replication.factor`. */
    replicationFactor: integer(1, 32_767).optional(),
    /** `min.insync.replicas` of each topic grantline creates; absent: the broker's default. */
    minInsyncReplicas: integer(1, 32_767).optional(),
    /**
     * `retention.ms` of `grantline.decision-requests.v1`, the canonical request of every decision
     * (what `grantline whatif` re-decides): -1 keeps them forever; at least an hour otherwise.
     * Absent: 400 days (`DEFAULT_DECISION_REQUEST_RETENTION_MS`).
     */
    decisionRequestRetentionMs: integer(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)
      .refine((ms) => ms === -1 || ms >= 3_600_000, 'must be -1 (kept forever) or at least 3600000 (an hour)')
      .optional(),
    ssl: Tls.optional(),
    sasl: Sasl.optional(),
    /** Lets `sasl` go without `ssl`: a local test broker only. Absent: false. */
    allowPlaintextSasl: z.boolean({ error: 'expected true or false' }).optional(),
  })
  .superRefine((kafka, ctx) => {
    if (kafka.sasl !== undefined && kafka.ssl === undefined && kafka.allowPlaintextSasl !== true) {
      ctx.addIssue({
        code: 'custom',
        path: ['ssl'],
        message: 'required when kafka.sasl is set: SASL over plaintext exposes the credentials or the session (set kafka.allowPlaintextSasl: true only for a local test broker)',
      });
    }
    if (kafka.replicationFactor !== undefined && kafka.minInsyncReplicas !== undefined && kafka.minInsyncReplicas > kafka.replicationFactor) {
      ctx.addIssue({ code: 'custom', path: ['minInsyncReplicas'], message: `must be at most kafka.replicationFactor (${kafka.replicationFactor}), or no write could ever be acknowledged` });
    }
  });

/** The validated `kafka` section: `ssl` normalized to settings or absent, secrets as `Secret`. */
export type KafkaSection = z.infer<typeof KafkaSection>;
