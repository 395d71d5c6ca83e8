import type { Server } from 'node:http';
import type { Config } from './config';
import { openDatabase } from './database';
import { createLogger } from './logger';
import { createPostgresEventStore } from './event-store/postgres-event-store';
import { postgresApiKeys } from './auth/api-keys';
import { createWriteApi } from '../write-api/app';

export type Role = 'all' | 'write-api' | 'read-api' | 'processes' | 'projections';
export const ROLES: readonly Role[] = ['all', 'write-api', 'read-api', 'processes', 'projections'];

export interface RunningSystem {
  readonly urls: Readonly<Record<string, string>>;
  stop(): Promise<void>;
}

/** The composition root: every adapter is chosen and wired here, and nowhere else. */
export async function startSystem(config: Config, role: Role): Promise<RunningSystem> {
  const log = createLogger(config.LOG_LEVEL, role);
  const database = await openDatabase(config, (line) => log.debug(line, { part: 'postgres' }));
  const store = createPostgresEventStore(database.pool);
  const servers: Server[] = [];
  const urls: Record<string, string> = { database: database.description };

  if (role === 'all' || role === 'write-api') {
    const app = createWriteApi({
      store,
      apiKeys: postgresApiKeys(database.pool),
      clock: () => new Date(),
      bodyLimitBytes: config.BODY_LIMIT_BYTES,
      logError: (message, error) => log.error(message, { error }),
    });
    const server = await listen(app, config.WRITE_API_PORT, config.HOST);
    servers.push(server);
    urls['write-api'] = `http://${config.HOST}:${addressPort(server)}`;
  }

  return {
    urls,
    async stop() {
      await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
      await store.close();
      await database.close();
    },
  };
}

function listen(app: { listen: (port: number, host: string, callback: () => void) => Server }, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, () => resolve(server));
    server.once('error', reject);
  });
}

function addressPort(server: Server): number {
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}
