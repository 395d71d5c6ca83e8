import type { Pool, PoolClient } from 'pg';

/**
 * Runs `work` in one transaction on a client of its own: commit when it returns, roll back when it
 * throws. A connection that dies mid-transaction (its server process killed, say) fails the query
 * in flight; the client's own 'error' event must not crash the process, and the client is then
 * discarded rather than returned to the pool.
 */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  const onError = () => {
    broken = true;
  };
  client.on('error', onError);
  try {
    await client.query('begin');
    const result = await work(client);
    await client.query('commit');
    return result;
  } catch (error) {
    broken = broken || !(await client.query('rollback').then(
      () => true,
      () => false,
    ));
    throw error;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}
