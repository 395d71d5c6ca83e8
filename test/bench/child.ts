// Runs one benchmark (argv[2]) in a process of its own, so its peak RSS is its own, and answers the
// runner over IPC. The runner passes the servers in the environment.
import { resolve } from 'node:path';
import { BENCHMARKS } from './benchmarks';
import { createDatabase, processPeakRssMb, type BenchContext, type Benchmark } from './harness';

async function main(): Promise<void> {
  const id = process.argv[2];
  const entry = BENCHMARKS.find((b) => b.id === id);
  if (!entry) throw new Error(`no benchmark ${id}`);
  const serverUrl = process.env.BENCH_SERVER_URL!;
  const ctx: BenchContext = {
    smoke: process.env.BENCH_SMOKE === '1',
    postgres: { kind: process.env.BENCH_POSTGRES_KIND as 'embedded' | 'external', version: process.env.BENCH_POSTGRES_VERSION ?? '' },
    redisUrl: process.env.BENCH_REDIS_URL || null,
    freshDatabase: (label) => createDatabase(serverUrl, `${id}_${label}`),
    log: (line) => process.stderr.write(`[${id}] ${line}\n`),
  };
  const { benchmark } = (await import(resolve(__dirname, entry.module))) as { benchmark: Benchmark };
  const rows = await benchmark.run(ctx);
  process.send!({ ok: true, title: benchmark.title, rows, peakRssMb: processPeakRssMb() }, () => process.exit(0));
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.send!({ ok: false, error: message }, () => process.exit(1));
});
