import { Pool } from 'pg';

/** The database that test/support/global-setup.ts made for this run. */
export function testDatabaseUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set: run integration tests through npm run test:embedded or test:external');
  return url;
}

export function testPool(max = 20): Pool {
  return new Pool({ connectionString: testDatabaseUrl(), max });
}
