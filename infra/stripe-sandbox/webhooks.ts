import { createHmac } from 'node:crypto';
import type { Faults } from './faults';
import type { StripeEvent } from './objects';
import type { SandboxLog } from './runtime';
import type { Pool } from 'pg';

export interface WebhookEndpoint {
  url: string;
  secret: string;
  /** First retry delay; each later one doubles, up to maxRetryDelayMs. Default 1 s. */
  retryBaseMs?: number;
  maxRetryDelayMs?: number;
  /** Attempts before an event is given up on. Default 10. */
  maxAttempts?: number;
  /** How often the background loop looks for due deliveries; 0 turns the loop off (tests drive it). Default 250 ms. */
  pollMs?: number;
  /** Per-attempt HTTP timeout. Default 10 s. */
  timeoutMs?: number;
}

interface Due {
  id: string;
  event_id: string;
  attempts: number;
  data: StripeEvent;
}

/**
 * A lease longer than any attempt, so two passes (or two processes) never deliver the same row at once.
 * Each sandbox delivers only the rows queued for its own endpoint URL, as Stripe delivers per endpoint.
 */
const LEASE_MS = 60_000;

export function signatureHeader(payload: string, secret: string, timestampSeconds: number): string {
  const v1 = createHmac('sha256', secret).update(`${timestampSeconds}.${payload}`).digest('hex');
  return `t=${timestampSeconds},v1=${v1}`;
}

export interface WebhookDispatcher {
  /** One pass over the deliveries that are due. Passes never overlap. */
  deliverPending(): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

export function createWebhookDispatcher(deps: {
  pool: Pool;
  endpoint: WebhookEndpoint;
  faults: Faults;
  clockMs: () => number;
  log: SandboxLog;
}): WebhookDispatcher {
  const { pool, endpoint, faults, clockMs, log } = deps;
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;

  const post = async (event: StripeEvent): Promise<{ ok: boolean; status: number | null; error: string | null }> => {
    const payload = JSON.stringify(event, null, 2);
    // Signed at each attempt with a fresh timestamp, as Stripe does for redeliveries.
    const signature = signatureHeader(payload, endpoint.secret, Math.floor(clockMs() / 1000));
    try {
      const response = await fetch(endpoint.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json; charset=utf-8', 'Stripe-Signature': signature, 'User-Agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)' },
        body: payload,
        signal: AbortSignal.timeout(endpoint.timeoutMs ?? 10_000),
      });
      await response.arrayBuffer().catch(() => undefined);
      return { ok: response.status >= 200 && response.status < 300, status: response.status, error: null };
    } catch (error) {
      return { ok: false, status: null, error: (error as Error).message };
    }
  };

  const attempt = async (due: Due): Promise<void> => {
    const decision = faults.decideDelivery(due.attempts === 0);
    let outcome: { ok: boolean; status: number | null; error: string | null };
    if (decision.failFirst) {
      faults.count('webhookFailFirst');
      outcome = { ok: false, status: null, error: 'injected failure of the first attempt' };
    } else {
      outcome = await post(due.data);
    }
    const now = clockMs();
    if (outcome.ok) {
      await pool.query('update stripe_sandbox.webhook_outbox set attempts = attempts + 1, delivered_at = $2, last_status = $3, lease_until = null where id = $1', [
        due.id,
        now,
        outcome.status,
      ]);
      if (decision.duplicate) {
        faults.count('webhookDuplicate');
        await post(due.data);
      }
      return;
    }
    const attempts = due.attempts + 1;
    const delay = Math.min((endpoint.retryBaseMs ?? 1000) * 2 ** (attempts - 1), endpoint.maxRetryDelayMs ?? 3_600_000);
    const giveUp = attempts >= (endpoint.maxAttempts ?? 10);
    if (giveUp) log.warn('stripe-sandbox: webhook abandoned', { event: due.event_id, attempts });
    await pool.query(
      `update stripe_sandbox.webhook_outbox set attempts = $2, next_attempt_at = $3, last_status = $4, last_error = $5,
       lease_until = null, abandoned_at = $6 where id = $1`,
      [due.id, attempts, now + delay, outcome.status, outcome.error, giveUp ? now : null],
    );
  };

  const pass = async (): Promise<void> => {
    const now = clockMs();
    const { rows } = await pool.query<Due>(
      `with due as (
         select id from stripe_sandbox.webhook_outbox
         where endpoint_url = $3 and delivered_at is null and abandoned_at is null and next_attempt_at <= $1
           and (lease_until is null or lease_until < $1)
         order by id limit 100 for update skip locked)
       update stripe_sandbox.webhook_outbox w set lease_until = $2
       from due, stripe_sandbox.objects o
       where w.id = due.id and o.id = w.event_id
       returning w.id, w.event_id, w.attempts, o.data`,
      [now, now + LEASE_MS, endpoint.url],
    );
    rows.sort((a, b) => Number(a.id) - Number(b.id));
    for (const due of faults.reorder(rows)) await attempt(due);
  };

  const deliverPending = () => {
    running = running.then(pass, pass);
    return running;
  };

  const loop = () => {
    if (stopped) return;
    deliverPending()
      .catch((error: Error) => log.error('stripe-sandbox: webhook pass failed', { error: error.message }))
      .finally(() => {
        if (!stopped) timer = setTimeout(loop, endpoint.pollMs ?? 250);
      });
  };

  return {
    deliverPending,
    start() {
      if ((endpoint.pollMs ?? 250) > 0) loop();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running.catch(() => undefined);
    },
  };
}
