// Two tiers: unit tests need nothing but Node; integration tests need Postgres (and, later, Redis),
// and are started through scripts/test-postgres.js, which chooses the server and exports its URL.
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.json' }];

module.exports = {
  // Test files run in a worker that is replaced once it holds more than this after a file, so that
  // what one file's servers and clients leave behind cannot add up over the whole tier.
  workerIdleMemoryLimit: '1GB',
  // Integration tests start servers and race real connections; unit tests finish far sooner.
  testTimeout: 60000,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/test/unit/**/*.spec.ts'],
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/test/integration/**/*.spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
    {
      // The chaos soak (npm run test:chaos): external Postgres and Redis, the compiled CLI in dist/.
      displayName: 'chaos',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/test/chaos/**/*.spec.ts'],
    },
  ],
};
