import { Pool } from 'pg';
import type { Config } from './config';
import { startEmbeddedPostgres } from './postgres/embedded';
import { migrate } from './postgres/migrate';

export interface Database {
  readonly pool: Pool;
  /** The connection string, for parts that open their own connections (BullMQ). */
  readonly url: string;
  /** Where the database is, with any password hidden, for messages. */
  readonly description: string;
  close(): Promise<void>;
}

/**
 * DATABASE_URL when set; otherwise the embedded Postgres under LEDGER_DATA_DIR, started by this
 * process or, when another process (say `npm start`) already runs it, shared with that one.
 * Migrations run every time: they are idempotent and serialised by an advisory lock.
 */
export async function openDatabase(config: Config, log: (line: string) => void = () => undefined): Promise<Database> {
  let url = config.DATABASE_URL;
  let stopServer = async (): Promise<void> => undefined;
  let description: string;
  if (url) {
    description = url.replace(/:[^:@/]*@/, ':***@');
  } else {
    const server = await startEmbeddedPostgres({
      dataDir: config.LEDGER_DATA_DIR,
      port: config.LEDGER_PG_PORT,
      database: config.LEDGER_DATABASE,
      log,
    });
    url = server.url;
    stopServer = () => server.stop();
    description = `embedded Postgres on 127.0.0.1:${config.LEDGER_PG_PORT} (data in ${config.LEDGER_DATA_DIR}${server.owned ? '' : ', shared with the running ledger'})`;
  }
  const pool = new Pool({ connectionString: url, max: config.DB_POOL_SIZE });
  pool.on('error', (error) => log(`idle Postgres client error: ${error.message}`));
  try {
    await migrate(pool);
  } catch (error) {
    await pool.end();
    await stopServer();
    throw error;
  }
  return {
    pool,
    url,
    description,
    async close() {
      await pool.end();
      await stopServer();
    },
  };
}
