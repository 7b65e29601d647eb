import { defineConfig } from 'vitest/config';

// Two projects: `unit` (pure code and plain fakes of our own ports, no broker) and
// `integration` (`*.int.test.ts`, against the real Kafka broker that scripts/test.sh starts).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts', 'connectors/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', 'node_modules/**'],
          environment: 'node',
          // The connector kinds in force, as the service's wiring has them (src/service/connector-types.ts).
          setupFiles: ['test/setup/connector-kinds.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.int.test.ts', 'connectors/**/*.int.test.ts'],
          exclude: ['node_modules/**'],
          environment: 'node',
          setupFiles: ['test/setup/connector-kinds.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
