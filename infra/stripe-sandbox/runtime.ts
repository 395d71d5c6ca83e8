import type { Pool } from 'pg';
import type { Faults } from './faults';

export interface SandboxLog {
  info(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  error(message: string, meta?: Record<string, unknown>): void;
}

export const silentLog: SandboxLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** What every route shares: the database, the clock, the faults and the timers to clear on close. */
export interface SandboxRuntime {
  pool: Pool;
  /** Milliseconds since the epoch. */
  clockMs(): number;
  /** The webhook endpoint's URL, when one is configured. */
  webhookUrl: string | null;
  faults: Faults;
  log: SandboxLog;
  /** Requests held open by a timeout fault; close() drops them. */
  held: Set<NodeJS.Timeout>;
}
