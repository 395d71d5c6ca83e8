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

/**
 * A database of its own on the run's server, for tests whose background parts (the saga's
 * subscriptions) read every stream: they must not see other test files' payments.
 */
export async function isolatedDatabase(label: string): Promise<{ url: string; drop(): Promise<void> }> {
  const base = new URL(testDatabaseUrl());
  const name = `${base.pathname.slice(1)}_${label}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new Pool({ connectionString: base.toString(), max: 1 });
  await admin.query(`create database "${name}"`);
  const url = new URL(base.toString());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      // Some clients (BullMQ's LISTEN connection) finish closing just after their owner says it
      // has stopped; dropping under them would kill them with an error nobody listens for.
      for (let waited = 0; waited < 5000; waited += 50) {
        const { rows } = await admin.query('select count(*)::int as n from pg_stat_activity where datname = $1', [name]);
        if (rows[0].n === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await admin.query(`drop database if exists "${name}" with (force)`);
      await admin.end();
    },
  };
}
