/**
 * Integration tests run against the real broker that scripts/test.sh starts (`start.sh --secure`)
 * and names in KAFKA_BROKERS, with its secured listeners in the variables below. Without them the
 * tests fail loudly instead of skipping.
 */
const REQUIRED = {
  KAFKA_BROKERS: 'the PLAINTEXT listener',
  KAFKA_SASL_SSL_BROKERS: 'the SASL_SSL listener',
  KAFKA_MTLS_BROKERS: 'the mTLS listener',
  KAFKA_TLS_DIR: 'the test CA and client certificate',
  KAFKA_SASL_USERNAME: 'the SCRAM/PLAIN test user',
  KAFKA_SASL_PASSWORD: "that user's password",
  KAFKA_OAUTH_ISSUER: 'the issuer the broker expects in OAuth tokens',
  KAFKA_OAUTH_AUDIENCE: 'the audience the broker expects in OAuth tokens',
} as const;

export default function setup(): void {
  const missing = Object.entries(REQUIRED).filter(([name]) => !process.env[name]);
  if (missing.length > 0) {
    throw new Error(
      `${missing.map(([name, what]) => `${name} (${what})`).join(', ')} not set: run integration tests through \`npm test\` (scripts/test.sh), ` +
        'which starts a broker with `dev/kafka/start.sh --secure`, or start one yourself and source the KAFKA_SECURE_ENV file it prints',
    );
  }
}
