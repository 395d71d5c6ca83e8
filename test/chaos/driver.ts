import { paymentIdFor } from '../../commands/ids';
import type { FlowPlan } from './flows';

export type RequestKind = 'create' | 'capture' | 'cancel' | 'refund' | 'replay' | 'reuse';

/** One client request as the client finally saw it, after its own retries. */
export interface JournalEntry {
  readonly kind: RequestKind;
  readonly flow: number;
  readonly paymentId: string;
  readonly key: string;
  /** The final status; null when no definitive answer came before the client gave up. */
  readonly status: number | null;
  readonly replayed: boolean;
  /** id and status of the answer (a payment or a refund), or the problem's code. */
  readonly answer: { readonly id?: string; readonly status?: string; readonly code?: string; readonly payment_id?: string };
  /** Sends, the first included: more than one means the client retried under the same key. */
  readonly attempts: number;
}

export interface FlowResult {
  readonly plan: FlowPlan;
  readonly paymentId: string;
  /** Sum of the refunds the client got a 2xx for. */
  readonly refunded: number;
  /** Set when the client gave up waiting for a status (it then cancels a manual payment). */
  readonly gaveUp: string | null;
}

export interface DriverStats {
  readonly sends: number;
  /** Sends that met a connection error, a timeout, a 5xx or a 429, and were retried. */
  readonly retriedSends: number;
  readonly polls: number;
}

export interface Driver {
  readonly journal: JournalEntry[];
  readonly results: FlowResult[];
  stats(): DriverStats;
  /** Runs every flow, paced over `spreadMs`, at most `concurrency` at a time. */
  run(plans: readonly FlowPlan[], spreadMs: number): Promise<void>;
}

export interface DriverOptions {
  readonly writeUrls: readonly string[];
  readonly readUrl: string;
  readonly apiKey: string;
  readonly merchantId: string;
  readonly concurrency: number;
  /** How long the client keeps retrying one request before it gives up on an answer. */
  readonly requestDeadlineMs?: number;
  /** How long a flow waits for a payment to reach a status. */
  readonly waitDeadlineMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const RETRY_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

export function createDriver(options: DriverOptions): Driver {
  const journal: JournalEntry[] = [];
  const results: FlowResult[] = [];
  let sends = 0;
  let retriedSends = 0;
  let polls = 0;
  let turn = 0;
  const requestDeadlineMs = options.requestDeadlineMs ?? 180_000;
  const waitDeadlineMs = options.waitDeadlineMs ?? 120_000;

  /**
   * A careful client: on any answer that is not definitive it sends the same request again, under
   * the same Idempotency-Key, to the other write API, with backoff.
   */
  const send = async (
    kind: RequestKind,
    plan: FlowPlan,
    paymentId: string,
    path: string,
    key: string,
    body: unknown,
  ): Promise<JournalEntry> => {
    const deadline = Date.now() + requestDeadlineMs;
    let attempts = 0;
    for (;;) {
      attempts += 1;
      sends += 1;
      const url = options.writeUrls[turn++ % options.writeUrls.length]!;
      try {
        const response = await fetch(`${url}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${options.apiKey}`, 'idempotency-key': key, 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(15_000),
        });
        const text = await response.text();
        if (!RETRY_STATUSES.has(response.status)) {
          const parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
          const answer = {
            ...(typeof parsed.id === 'string' ? { id: parsed.id } : {}),
            ...(typeof parsed.status === 'string' ? { status: parsed.status } : {}),
            ...(typeof parsed.code === 'string' ? { code: parsed.code } : {}),
            ...(typeof parsed.payment_id === 'string' ? { payment_id: parsed.payment_id } : {}),
          };
          const entry: JournalEntry = {
            kind,
            flow: plan.index,
            paymentId,
            key,
            status: response.status,
            replayed: response.headers.get('idempotent-replayed') === 'true',
            answer,
            attempts,
          };
          journal.push(entry);
          return entry;
        }
      } catch {
        // Connection refused or reset (a write API was killed), or our timeout: the outcome is unknown.
      }
      retriedSends += 1;
      if (Date.now() > deadline) {
        const entry: JournalEntry = { kind, flow: plan.index, paymentId, key, status: null, replayed: false, answer: {}, attempts };
        journal.push(entry);
        return entry;
      }
      await sleep(Math.min(2_000, 50 * 2 ** Math.min(attempts, 6)) * (0.5 + Math.random() / 2));
    }
  };

  /** Polls the read API until the payment's status is one of `statuses`; returns it, or null at the deadline. */
  const waitFor = async (paymentId: string, statuses: readonly string[]): Promise<string | null> => {
    const deadline = Date.now() + waitDeadlineMs;
    let last = 'unknown';
    while (Date.now() < deadline) {
      polls += 1;
      try {
        const response = await fetch(`${options.readUrl}/v1/payments/${paymentId}`, {
          headers: { authorization: `Bearer ${options.apiKey}` },
          signal: AbortSignal.timeout(10_000),
        });
        if (response.status === 200) {
          const payment = (await response.json()) as { status: string };
          last = payment.status;
          if (statuses.includes(last)) return last;
          if (['failed', 'canceled', 'refunded'].includes(last)) return last;
        } else {
          await response.arrayBuffer();
        }
      } catch {
        // The read API is down (killed): ask again.
      }
      await sleep(300 + Math.random() * 400);
    }
    return null;
  };

  const runFlow = async (plan: FlowPlan): Promise<void> => {
    const paymentId = paymentIdFor(options.merchantId, plan.key);
    const create = () => send('create', plan, paymentId, '/v1/payments', plan.key, plan.body);
    const creates = await Promise.all(Array.from({ length: plan.concurrentCreates }, create));
    let refunded = 0;
    let gaveUp: string | null = null;
    const accepted = creates.some((entry) => entry.status === 202);
    if (accepted && plan.replayCreate) await send('replay', plan, paymentId, '/v1/payments', plan.key, plan.body);
    if (accepted && plan.reuseKey) await send('reuse', plan, paymentId, '/v1/payments', plan.key, { ...plan.body, amount: plan.body.amount + 1 });

    const actions = `/v1/payments/${paymentId}`;
    if (accepted) {
      switch (plan.kind) {
        case 'cancel_at_once':
          await send('cancel', plan, paymentId, `${actions}/cancel`, `${plan.key}-cancel`, { reason: 'requested_by_customer' });
          break;
        case 'cancel_after_authorization': {
          const status = await waitFor(paymentId, ['authorized']);
          if (status === null) gaveUp = 'never authorized';
          await send('cancel', plan, paymentId, `${actions}/cancel`, `${plan.key}-cancel`, { reason: 'requested_by_customer' });
          break;
        }
        case 'manual_full':
        case 'manual_partial':
        case 'manual_partial_refunds': {
          const status = await waitFor(paymentId, ['authorized']);
          if (status !== 'authorized') {
            gaveUp = `not authorized: ${status ?? 'timeout'}`;
            // Leave no hold behind: a client that gives up on a capture releases the authorization.
            await send('cancel', plan, paymentId, `${actions}/cancel`, `${plan.key}-cancel`, { reason: 'abandoned' });
            break;
          }
          const body = plan.captureAmount === null ? {} : { amount: plan.captureAmount };
          const capture = await send('capture', plan, paymentId, `${actions}/capture`, `${plan.key}-capture`, body);
          if (capture.status === 202 && plan.refunds.length > 0) refunded = await refundAll(plan, paymentId);
          break;
        }
        case 'automatic_refunds':
          refunded = await refundAll(plan, paymentId);
          break;
        case 'automatic':
        case 'decline':
          break;
        default: {
          const unreachable: never = plan.kind;
          throw new Error(`unknown flow ${String(unreachable)}`);
        }
      }
    }
    results.push({ plan, paymentId, refunded, gaveUp });

    async function refundAll(flow: FlowPlan, id: string): Promise<number> {
      const status = await waitFor(id, ['captured']);
      if (status !== 'captured') {
        gaveUp = `not captured: ${status ?? 'timeout'}`;
        return 0;
      }
      let total = 0;
      for (const [i, amount] of flow.refunds.entries()) {
        const body = amount === null ? { reason: 'requested_by_customer' } : { amount, reason: 'requested_by_customer' };
        const copies = i === 0 && flow.concurrentRefund ? 2 : 1;
        const answers = await Promise.all(
          Array.from({ length: copies }, () => send('refund', flow, id, `/v1/payments/${id}/refunds`, `${flow.key}-refund-${i}`, body)),
        );
        const ok = answers.find((entry) => entry.status === 202);
        if (!ok) break;
        if (amount === null) {
          const captured = flow.captureAmount ?? flow.body.amount;
          total = captured;
        } else {
          total += amount;
        }
      }
      return total;
    }
  };

  return {
    journal,
    results,
    stats: () => ({ sends, retriedSends, polls }),
    async run(plans, spreadMs) {
      const started = Date.now();
      const gap = plans.length > 0 ? spreadMs / plans.length : 0;
      let next = 0;
      const lane = async () => {
        for (;;) {
          const index = next++;
          const plan = plans[index];
          if (!plan) return;
          const due = started + index * gap;
          if (due > Date.now()) await sleep(due - Date.now());
          await runFlow(plan);
        }
      };
      await Promise.all(Array.from({ length: options.concurrency }, lane));
    },
  };
}
