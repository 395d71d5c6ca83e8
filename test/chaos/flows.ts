import type { Random } from './random';

/** What a client does with one payment, decided up front from the seed. */
export type FlowKind =
  | 'automatic'
  | 'automatic_refunds'
  | 'manual_full'
  | 'manual_partial'
  | 'manual_partial_refunds'
  | 'cancel_after_authorization'
  | 'cancel_at_once'
  | 'decline';

export interface FlowPlan {
  readonly index: number;
  readonly kind: FlowKind;
  readonly key: string;
  readonly body: {
    readonly amount: number;
    readonly currency: string;
    readonly customer_id: string;
    readonly payment_method: string;
    readonly capture_method: 'automatic' | 'manual';
    readonly description: string;
    readonly metadata: Record<string, string>;
  };
  /** For manual partial captures. */
  readonly captureAmount: number | null;
  /** Refund amounts in order; null refunds the rest. */
  readonly refunds: readonly (number | null)[];
  /** Send the create two or three times at once, to both write APIs. */
  readonly concurrentCreates: number;
  /** Send the same create again once it has succeeded: the answer must be a replay. */
  readonly replayCreate: boolean;
  /** Send a different body under the same key: the answer must be 422 idempotency_key_reused. */
  readonly reuseKey: boolean;
  /** Send the first refund twice at once. */
  readonly concurrentRefund: boolean;
}

const DECLINES = ['pm_card_chargeDeclined', 'pm_card_chargeDeclinedInsufficientFunds', 'pm_card_chargeDeclinedProcessingError'] as const;
const CARDS = ['pm_card_visa', 'pm_card_mastercard'] as const;

export function planFlows(random: Random, count: number, seed: number): FlowPlan[] {
  return Array.from({ length: count }, (_, index) => planFlow(random, index, seed));
}

function planFlow(random: Random, index: number, seed: number): FlowPlan {
  const kind = random.weighted<FlowKind>([
    ['automatic', 20],
    ['automatic_refunds', 15],
    ['manual_full', 12],
    ['manual_partial', 10],
    ['manual_partial_refunds', 13],
    ['cancel_after_authorization', 10],
    ['cancel_at_once', 8],
    ['decline', 12],
  ]);
  const currency = random.weighted([['usd', 6], ['eur', 3], ['jpy', 1]] as const);
  const amount = random.int(currency === 'jpy' ? 100 : 200, 99_999);
  const manual = kind.startsWith('manual') || kind.startsWith('cancel');
  const partial = kind === 'manual_partial' || kind === 'manual_partial_refunds';
  const captureAmount = partial ? random.int(1, amount - 1) : null;
  const captured = captureAmount ?? amount;
  const refunds: (number | null)[] = [];
  if (kind === 'automatic_refunds' || kind === 'manual_partial_refunds') {
    const first = random.int(1, Math.max(1, Math.floor(captured / 2)));
    refunds.push(first);
    const second = random.weighted([['none', 3], ['rest', 3], ['part', 4]] as const);
    if (second === 'rest') refunds.push(null);
    if (second === 'part' && captured - first > 1) refunds.push(random.int(1, Math.floor((captured - first) / 2) || 1));
  }
  return {
    index,
    kind,
    key: `chaos-${seed}-${index}`,
    body: {
      amount,
      currency,
      customer_id: `cus_${random.int(1, 500)}`,
      payment_method: kind === 'decline' ? random.pick(DECLINES) : random.pick(CARDS),
      capture_method: manual ? 'manual' : 'automatic',
      description: `chaos flow ${index} (${kind})`,
      metadata: { flow: String(index), kind },
    },
    captureAmount,
    refunds,
    concurrentCreates: random.chance(0.15) ? random.int(2, 3) : 1,
    replayCreate: random.chance(0.15),
    reuseKey: random.chance(0.05),
    concurrentRefund: random.chance(0.2),
  };
}

export interface Expected {
  readonly statuses: readonly string[];
  readonly amountCaptured: number | null;
}

/** How the payment must end when every call the flow made was accepted. */
export function expectedOutcome(plan: FlowPlan, refunded: number): Expected {
  switch (plan.kind) {
    case 'decline':
      return { statuses: ['failed'], amountCaptured: 0 };
    case 'cancel_after_authorization':
    case 'cancel_at_once':
      return { statuses: ['canceled'], amountCaptured: 0 };
    default: {
      const captured = plan.captureAmount ?? plan.body.amount;
      if (refunded === 0) return { statuses: ['captured'], amountCaptured: captured };
      return { statuses: [refunded >= captured ? 'refunded' : 'partially_refunded'], amountCaptured: captured };
    }
  }
}
