/**
 * Integration tests run against the real broker that scripts/test.sh starts and names in
 * KAFKA_BROKERS. Without it they fail loudly instead of skipping.
 */
export default function setup(): void {
  if (!process.env.KAFKA_BROKERS) {
    throw new Error('KAFKA_BROKERS is not set: run integration tests through `npm test` (scripts/test.sh), which starts a broker');
  }
}
