// What the benchmark runs in processes of their own (inFreshProcess), so that each peak RSS
// belongs to one piece of work: a projection's rebuild, or the COPY of the rows it produced.
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Pool } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { createPostgresEventStore } from '../../../infra/event-store/postgres-event-store';
import { projectionNamed, quoteIdent, rebuildProjection } from '../../../projections';

export interface RebuildArgs {
  readonly url: string;
  readonly projection: string;
  readonly batch: number;
}

export interface Rebuilt {
  readonly events: number;
  /** The whole call, from taking the lock to the swap's commit. */
  readonly seconds: number;
}

/** `rebuildProjection` exactly as `ledger projections rebuild` runs it, on a pool of its own. */
export async function rebuild(args: RebuildArgs): Promise<Rebuilt> {
  const projection = projectionNamed(args.projection);
  if (!projection) throw new Error(`no projection ${args.projection}`);
  const pool = new Pool({ connectionString: args.url, max: 4 });
  try {
    await pool.query('checkpoint');
    const started = performance.now();
    const result = await rebuildProjection(pool, createPostgresEventStore(pool), projection, { batch: args.batch });
    return { events: result.events, seconds: (performance.now() - started) / 1000 };
  } finally {
    await pool.end();
  }
}

export interface CopyArgs {
  readonly url: string;
  readonly projection: string;
}

export interface Copied {
  readonly rows: Readonly<Record<string, number>>;
  /** The COPY ... FROM STDIN statements alone. */
  readonly seconds: number;
}

const COPY_SUFFIX = '_copy';

/**
 * The ceiling a rebuild is held against: the rows the projection produced, taken out with COPY TO
 * into files first (not timed), then written with COPY FROM STDIN into empty tables made `like`
 * the live ones (same columns, checks, primary keys and indexes), one table after the other.
 */
export async function copy(args: CopyArgs): Promise<Copied> {
  const projection = projectionNamed(args.projection);
  if (!projection) throw new Error(`no projection ${args.projection}`);
  const pool = new Pool({ connectionString: args.url, max: 1 });
  const dir = mkdtempSync(join(tmpdir(), 'ledger-bench-copy-'));
  const client = await pool.connect();
  try {
    for (const table of projection.tables) {
      await client.query(`drop table if exists ${quoteIdent(table + COPY_SUFFIX)}`);
      await client.query(`create table ${quoteIdent(table + COPY_SUFFIX)} (like ${quoteIdent(table)} including all)`);
      await pipeline(client.query(copyTo(`copy ${quoteIdent(table)} to stdout`)), createWriteStream(join(dir, table)));
    }
    await client.query('checkpoint');
    const rows: Record<string, number> = {};
    const started = performance.now();
    for (const table of projection.tables) {
      const into = client.query(copyFrom(`copy ${quoteIdent(table + COPY_SUFFIX)} from stdin`));
      await pipeline(createReadStream(join(dir, table)), into);
      rows[table] = into.rowCount;
    }
    const seconds = (performance.now() - started) / 1000;
    for (const table of projection.tables) await client.query(`drop table ${quoteIdent(table + COPY_SUFFIX)}`);
    return { rows, seconds };
  } finally {
    client.release();
    await pool.end();
    rmSync(dir, { recursive: true, force: true });
  }
}
