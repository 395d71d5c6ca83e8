export * from './match';
export * from './run-events';
export { replayLedger, type LedgerReplay } from './ledger-replay';
export { listBalanceTransactions, createdSlices, LIST_SLICES, resolveOwners, findElsewhere } from './processor-side';
export { executeRun, requestRun, RunFinishedElsewhere } from './run';
export type { ReconciliationDependencies, ReconciliationPhase, ReconciliationProgress, RunRequest } from './run';
export { resolveDiscrepancy } from './resolve';
export type { ResolveOutcome, ResolveRequest } from './resolve';
