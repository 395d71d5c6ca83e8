// The child side of inFreshProcess (harness.ts): runs one exported function and answers with its
// result and this process's peak RSS.
import { processPeakRssMb } from './harness';

const [modulePath, exportName] = process.argv.slice(2);

process.once('message', async ({ args }: { args: unknown }) => {
  try {
    const loaded = (await import(modulePath!)) as Record<string, (input: unknown) => Promise<unknown>>;
    const fn = loaded[exportName!];
    if (typeof fn !== 'function') throw new Error(`${exportName} is not exported by ${modulePath}`);
    const result = await fn(args);
    process.send!({ ok: true, result, peakRssMb: processPeakRssMb() }, () => process.exit(0));
  } catch (error) {
    process.send!({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }, () => process.exit(1));
  }
});
