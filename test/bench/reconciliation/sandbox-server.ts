// A stripe-sandbox over one database, in a process of its own (forked by sandbox.ts): the list
// requests of a measured run are served here, so their cost shows in this process's peak RSS and
// in no other measurement's. Answers { port } over IPC, then serves until its parent lets go.
import { Pool } from 'pg';
import { createStripeSandbox } from '../../../infra/stripe-sandbox';

async function main(): Promise<void> {
  const pool = new Pool({ connectionString: process.argv[2], max: 8 });
  const sandbox = createStripeSandbox({ pool });
  const { port } = await sandbox.listen(0, '127.0.0.1');
  process.once('disconnect', () => {
    void sandbox.close().then(() => pool.end()).finally(() => process.exit(0));
  });
  process.send!({ port });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
