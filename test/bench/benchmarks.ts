/** Every benchmark `npm run bench` runs, in this order; each module exports `benchmark`. */
export const BENCHMARKS: readonly { readonly id: string; readonly module: string }[] = [
  { id: 'event-store', module: './event-store/index.ts' },
  { id: 'write-api', module: './write-api/index.ts' },
  { id: 'saga', module: './saga/index.ts' },
  { id: 'rebuild', module: './rebuild/index.ts' },
  { id: 'reconciliation', module: './reconciliation/index.ts' },
];
