import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPayment } from '../../../commands/payment-stream';
import { processorCounts, sagaBackends, startSaga, type SagaHarness } from '../../support/saga';

/** The `ledger` command; it runs the compiled code in dist/, which `npm test` builds first. */
const LEDGER = join(__dirname, '..', '..', '..', 'bin', 'ledger.js');

/** The processes role as its own OS process, from the compiled CLI, the way it runs in production. */
function startWorkerProcess(saga: SagaHarness, backend: 'postgres' | 'redis'): Promise<ChildProcess> {
  const child = spawn(process.execPath, [LEDGER, 'start', '--role', 'processes'], {
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: saga.databaseUrl,
      STRIPE_SECRET_KEY: 'sk_test_saga',
      STRIPE_API_URL: saga.sandboxUrl,
      SAGA_QUEUE: saga.queueName,
      SAGA_STUCK_AFTER_MS: '2000',
      SAGA_JANITOR_EVERY_MS: '500',
      LOG_LEVEL: 'error',
      LEDGER_DATA_DIR: mkdtempSync(join(tmpdir(), 'ledger-worker-')),
      STRIPE_SUPPRESS_NOTICES: 'true',
      ...(backend === 'redis' ? { REDIS_URL: process.env.TEST_REDIS_URL } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`the worker process did not start: ${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('ledger started')) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`the worker process exited with ${code}: ${output}`)));
  });
}

describe.each(sagaBackends())('when the worker process is killed mid-flight, on the %s backend', (backend) => {
  let saga: SagaHarness;
  let worker: ChildProcess | undefined;
  beforeAll(async () => {
    saga = await startSaga({ backend, withoutProcesses: true });
  });
  afterAll(async () => {
    worker?.kill('SIGKILL');
    await saga.close();
  });

  it('completes every one of 200 payments after a restart, and charges none twice', async () => {
    // Latency keeps calls in flight when the kill lands.
    await saga.admin('/__sandbox/faults', { method: 'POST', body: { faults: { seed: 9, latencyMs: [5, 40] } } });
    worker = await startWorkerProcess(saga, backend);
    const ids = await Promise.all(Array.from({ length: 200 }, (_, i) => saga.createPayment({ amount: 1000 + i })));

    const midway = Date.now() + 30_000;
    for (;;) {
      const { rows } = await saga.pool.query("select count(*)::int as n from events where type = 'PaymentCaptured'");
      if (rows[0].n >= 40) break;
      if (Date.now() > midway) throw new Error('the worker made no progress');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    worker.kill('SIGKILL');
    await new Promise((resolve) => worker!.once('exit', resolve));
    const { rows } = await saga.pool.query("select count(*)::int as n from events where type = 'PaymentCaptured'");
    expect(rows[0].n).toBeLessThan(200);

    worker = await startWorkerProcess(saga, backend);
    // Jobs that were active in the killed worker come back only when BullMQ declares them stalled:
    // once their 30 s lock has expired, at a stalled check (every 30 s), so up to about 90 s.
    for (const id of ids) await saga.waitFor(id, (state) => state.status === 'captured', 120_000);

    const counts = await processorCounts(saga.pool);
    for (const id of ids) expect({ id, ...counts.get(id) }).toEqual({ id, intents: 1, captures: 1, refunds: 0 });
    for (const id of ids) {
      const { events } = await loadPayment(saga.store, id);
      expect(events.map((event) => event.type)).toEqual(['PaymentRequested', 'PaymentAuthorized', 'PaymentCaptured']);
    }
  }, 240_000);
});
