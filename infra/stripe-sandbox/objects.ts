/** The shapes of the Stripe objects the sandbox stores, limited to the fields it fills. */
export interface StripeObject {
  id: string;
  object: string;
  created: number;
}

export type PaymentIntentStatus =
  | 'requires_payment_method'
  | 'requires_confirmation'
  | 'requires_action'
  | 'processing'
  | 'requires_capture'
  | 'canceled'
  | 'succeeded';

export interface PaymentIntent extends StripeObject {
  object: 'payment_intent';
  amount: number;
  amount_capturable: number;
  amount_received: number;
  currency: string;
  status: PaymentIntentStatus;
  capture_method: 'automatic' | 'automatic_async' | 'manual';
  confirmation_method: 'automatic';
  payment_method: string | null;
  payment_method_types: string[];
  automatic_payment_methods: { enabled: boolean; allow_redirects?: 'always' | 'never' } | null;
  latest_charge: string | null;
  last_payment_error: Record<string, unknown> | null;
  next_action: Record<string, unknown> | null;
  canceled_at: number | null;
  cancellation_reason: string | null;
  client_secret: string;
  description: string | null;
  metadata: Record<string, string>;
  livemode: false;
}

export interface Charge extends StripeObject {
  object: 'charge';
  amount: number;
  amount_captured: number;
  amount_refunded: number;
  captured: boolean;
  refunded: boolean;
  paid: boolean;
  status: 'succeeded' | 'pending' | 'failed';
  currency: string;
  balance_transaction: string | null;
  payment_intent: string;
  payment_method: string;
  failure_code: string | null;
  failure_message: string | null;
  outcome: Record<string, unknown>;
  metadata: Record<string, string>;
  livemode: false;
}

export interface Refund extends StripeObject {
  object: 'refund';
  amount: number;
  charge: string;
  payment_intent: string;
  currency: string;
  status: 'succeeded';
  reason: string | null;
  balance_transaction: string;
  metadata: Record<string, string>;
}

export interface BalanceTransaction extends StripeObject {
  object: 'balance_transaction';
  amount: number;
  fee: number;
  fee_details: Array<{ amount: number; application: null; currency: string; description: string; type: 'stripe_fee' }>;
  net: number;
  currency: string;
  type: 'charge' | 'refund';
  reporting_category: 'charge' | 'refund' | 'partial_capture_reversal';
  source: string;
  status: 'available';
  available_on: number;
  description: string | null;
  exchange_rate: null;
}

export interface StripeEvent extends StripeObject {
  object: 'event';
  api_version: string;
  type: string;
  data: { object: unknown; previous_attributes?: Record<string, unknown> };
  livemode: false;
  pending_webhooks: number;
  request: { id: string | null; idempotency_key: string | null };
}
