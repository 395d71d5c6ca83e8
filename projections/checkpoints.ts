import type { Pool, PoolClient } from 'pg';
import type { Position } from '../ports/event-store';

type Queryable = Pick<Pool | PoolClient, 'query'>;

/** The position before every event: readAll after it starts from the beginning. */
export const ORIGIN: Position = { commit: 0n, prepare: 0n };

interface CheckpointRow {
  commit_position: string;
  prepare_position: string;
}

const toPosition = (row: CheckpointRow): Position => ({ commit: BigInt(row.commit_position), prepare: BigInt(row.prepare_position) });

/** The checkpoint of `name`, or null when the projection has never run. */
export async function readCheckpoint(db: Queryable, name: string): Promise<Position | null> {
  const { rows } = await db.query<CheckpointRow>(
    'select commit_position::text, prepare_position::text from projection_checkpoints where name = $1',
    [name],
  );
  return rows[0] ? toPosition(rows[0]) : null;
}

export async function ensureCheckpoint(db: Queryable, name: string): Promise<void> {
  await db.query(
    'insert into projection_checkpoints (name, commit_position, prepare_position) values ($1, 0, 0) on conflict (name) do nothing',
    [name],
  );
}

/** Locks the checkpoint row for the rest of the transaction and returns it. */
export async function lockCheckpoint(db: Queryable, name: string): Promise<Position> {
  const { rows } = await db.query<CheckpointRow>(
    'select commit_position::text, prepare_position::text from projection_checkpoints where name = $1 for update',
    [name],
  );
  if (!rows[0]) throw new Error(`projection ${name} has no checkpoint row`);
  return toPosition(rows[0]);
}

export async function writeCheckpoint(db: Queryable, name: string, position: Position): Promise<void> {
  await db.query(
    'update projection_checkpoints set commit_position = $2, prepare_position = $3, updated_at = now() where name = $1',
    [name, position.commit.toString(), position.prepare.toString()],
  );
}
