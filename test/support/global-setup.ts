import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { startEmbeddedPostgres, type RunningPostgres } from '../../infra/postgres/embedded';

/**
 * Gives the integration tier a fresh, empty database for this run and exports its URL as
 * TEST_DATABASE_URL (workers inherit the environment).
 * - LEDGER_TEST_PG=external (or DATABASE_URL set): a new database on that server, dropped after.
 * - otherwise: an embedded Postgres in a temporary folder, on a free port.
 */
declare global {
  // eslint-disable-next-line no-var
  var __ledgerTestTeardown: (() => Promise<void>) | undefined;
}

export default async function globalSetup(): Promise<void> {
  const external = process.env.LEDGER_TEST_PG === 'external';
  const database = `ledger_test_${Date.now().toString(36)}_${process.pid}`;
  if (external) {
    const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
    const admin = new Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`create database ${admin.escapeIdentifier(database)}`);
    await admin.end();
    const url = new URL(serverUrl);
    url.pathname = `/${database}`;
    process.env.TEST_DATABASE_URL = url.toString();
    globalThis.__ledgerTestTeardown = async () => {
      const client = new Client({ connectionString: serverUrl });
      await client.connect();
      await client.query(`drop database if exists ${client.escapeIdentifier(database)} with (force)`);
      await client.end();
    };
    return;
  }
  const running: RunningPostgres = await startEmbeddedPostgres({
    dataDir: mkdtempSync(join(tmpdir(), 'ledger-test-pg-')),
    port: 20000 + Math.floor(Math.random() * 20000),
    database,
  });
  process.env.TEST_DATABASE_URL = running.url;
  globalThis.__ledgerTestTeardown = () => running.stop();
}
