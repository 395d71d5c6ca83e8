import type { Pool } from 'pg';

/** Which streams each projection follows: caught up means its checkpoint is at their last event. */
const FOLLOWED: Readonly<Record<string, string>> = {
  payments: 'payment-',
  ledger: 'payment-',
  'saga-payments': 'payment-',
  'saga-webhooks': 'stripe-event-',
};

export interface Quiet {
  /** The payment side is still: no open payment work, its projections caught up, no new payment event. */
  readonly quiet: boolean;
  /** Also every webhook delivered and handled. */
  readonly drained: boolean;
  readonly waitedMs: number;
  readonly openWork: number;
  readonly openWebhookWork: number;
  readonly lagging: readonly string[];
  readonly pendingWebhooks: number;
}

async function look(pool: Pool): Promise<Omit<Quiet, 'quiet' | 'drained' | 'waitedMs'> & { paymentEvents: number }> {
  const work = await pool.query<{ payments: number; webhooks: number }>(
    "select count(*) filter (where name <> 'webhook')::int as payments, count(*) filter (where name = 'webhook')::int as webhooks from saga_work",
  );
  const events = await pool.query<{ n: number }>("select count(*)::int as n from events where stream_id like 'payment-%'");
  const webhooks = await pool.query<{ n: number }>(
    'select count(*)::int as n from stripe_sandbox.webhook_outbox where delivered_at is null and abandoned_at is null',
  );
  const lagging: string[] = [];
  for (const [name, prefix] of Object.entries(FOLLOWED)) {
    const { rows } = await pool.query<{ behind: boolean }>(
      `select coalesce((select (c.commit_position, c.prepare_position) < (e.transaction_id::text::numeric, e.global_position)
                          from projection_checkpoints c where c.name = $1), true) as behind
         from (select transaction_id, global_position from events where stream_id like $2
                order by transaction_id desc, global_position desc limit 1) e`,
      [name, `${prefix}%`],
    );
    if (rows[0]?.behind) lagging.push(name);
  }
  return {
    openWork: work.rows[0]!.payments,
    openWebhookWork: work.rows[0]!.webhooks,
    lagging,
    pendingWebhooks: webhooks.rows[0]!.n,
    paymentEvents: events.rows[0]!.n,
  };
}

/**
 * Waits until nothing is left to do: no open saga work, every projection at the last event of its
 * streams, no webhook waiting at the sandbox, and no new payment event between two looks a second
 * apart. When time runs out with only webhooks left (the sandbox delivers them one at a time, so a
 * long soak ends with a backlog), the payment side may still be quiet: the caller reports both.
 */
export async function waitForQuiescence(pool: Pool, timeoutMs: number, log: (line: string) => void): Promise<Quiet> {
  const started = Date.now();
  let previous = -1;
  let lastLog = 0;
  for (;;) {
    const now = await look(pool);
    const still = now.paymentEvents === previous;
    previous = now.paymentEvents;
    const quiet = still && now.openWork === 0 && !now.lagging.some((name) => name !== 'saga-webhooks');
    const drained = quiet && now.openWebhookWork === 0 && now.pendingWebhooks === 0 && now.lagging.length === 0;
    const waitedMs = Date.now() - started;
    if (drained || waitedMs > timeoutMs) return { quiet, drained, waitedMs, ...now };
    if (Date.now() - lastLog > 10_000) {
      lastLog = Date.now();
      log(`quiescence: ${now.openWork} open payment jobs, ${now.openWebhookWork} webhook jobs, lagging [${now.lagging.join(', ')}], ${now.pendingWebhooks} webhooks to deliver`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}
