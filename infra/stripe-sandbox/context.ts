/** What an operation knows about the request that triggered it. */
export interface OpContext {
  /** Unix seconds, from the sandbox clock. */
  now: number;
  requestId: string;
  idempotencyKey: string | null;
  apiVersion: string;
  /** Where and from when to deliver the events this request creates; null when no webhook endpoint is set. */
  webhook: { url: string; firstAttemptAtMs: number } | null;
}
