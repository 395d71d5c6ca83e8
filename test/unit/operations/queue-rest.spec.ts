import { EventEmitter } from 'node:events';
import type { Worker } from 'bullmq';
import { restOnErrorBursts } from '../../../infra/queue/bullmq';

/** The part of a BullMQ worker the guard uses. */
class FakeWorker extends EventEmitter {
  closing: Promise<void> | undefined = undefined;
  readonly calls: string[] = [];
  async pause(doNotWaitActive: boolean) {
    this.calls.push(`pause(${doNotWaitActive})`);
  }
  async resume() {
    this.calls.push('resume');
  }
}

function burst(worker: FakeWorker, errors: number) {
  for (let i = 0; i < errors; i += 1) worker.emit('error', new Error('Connection terminated unexpectedly'));
}

describe('a queue worker that meets a burst of errors', () => {
  beforeEach(() => jest.useFakeTimers({ now: 0 }));
  afterEach(() => jest.useRealTimers());

  const guarded = () => {
    const worker = new FakeWorker();
    restOnErrorBursts(worker as unknown as Worker);
    return worker;
  };

  it('keeps going on a few errors', async () => {
    const worker = guarded();
    burst(worker, 9);
    await jest.advanceTimersByTimeAsync(5_000);
    expect(worker.calls).toEqual([]);
  });

  it('rests for a second without waiting for running jobs, then resumes', async () => {
    const worker = guarded();
    burst(worker, 10);
    await jest.advanceTimersByTimeAsync(999);
    expect(worker.calls).toEqual(['pause(true)']);
    await jest.advanceTimersByTimeAsync(1);
    expect(worker.calls).toEqual(['pause(true)', 'resume']);
  });

  it('rests longer while the bursts go on, up to fifteen seconds', async () => {
    const worker = guarded();
    const rests: number[] = [];
    for (let round = 0; round < 6; round += 1) {
      jest.setSystemTime(Date.now() + 1_001);
      burst(worker, 10);
      const pausedAt = Date.now();
      while (worker.calls[worker.calls.length - 1] !== 'resume') await jest.advanceTimersByTimeAsync(100);
      rests.push(Date.now() - pausedAt);
    }
    expect(rests).toEqual([1_000, 2_000, 4_000, 8_000, 15_000, 15_000]);
  });

  it('does not resume a worker that is closing', async () => {
    const worker = guarded();
    burst(worker, 10);
    worker.closing = Promise.resolve();
    await jest.advanceTimersByTimeAsync(2_000);
    expect(worker.calls).toEqual(['pause(true)']);
  });
});
