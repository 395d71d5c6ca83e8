import { captureCharge, createCharge } from './charges';
import type { OpContext } from './context';
import { docUrl, invalidRequest, resourceMissing, unexpectedState, type ApiResult } from './errors';
import { emitEvent, previousAttributes } from './events';
import { expandObject } from './expand';
import { newId } from './ids';
import type { Charge, PaymentIntent } from './objects';
import {
  expandPaths,
  optionalBoolean,
  optionalEnum,
  optionalMetadata,
  optionalObject,
  optionalString,
  rejectUnknown,
  requiredInteger,
  requiredString,
  type Params,
} from './params';
import { getObject, insertObject, saveObject, type Db } from './store';
import { TEST_CARDS } from './test-cards';

const CREATE_PARAMS = [
  'amount', 'currency', 'capture_method', 'confirm', 'payment_method', 'payment_method_types', 'automatic_payment_methods',
  'metadata', 'description', 'return_url', 'expand', 'confirmation_method',
];
const CONFIRM_PARAMS = ['payment_method', 'return_url', 'expand', 'capture_method'];

export async function loadIntent(db: Db, id: string, forUpdate = false): Promise<PaymentIntent> {
  const intent = await getObject<PaymentIntent>(db, id, { forUpdate });
  if (!intent || intent.object !== 'payment_intent') throw resourceMissing('payment_intent', id, 'intent');
  return intent;
}

export async function intentResult(db: Db, intent: PaymentIntent, params: Params, status = 200): Promise<ApiResult> {
  return { status, body: await expandObject(db, intent, expandPaths(params)) };
}

export async function createPaymentIntent(db: Db, ctx: OpContext, params: Params): Promise<ApiResult> {
  rejectUnknown(params, CREATE_PARAMS);
  const amount = requiredInteger(params, 'amount', 1);
  const currency = requiredString(params, 'currency').toLowerCase();
  if (!/^[a-z]{3}$/.test(currency)) throw invalidRequest(`Invalid currency: ${currency}`, { param: 'currency' });
  const automatic = optionalObject(params, 'automatic_payment_methods');
  const types = params.payment_method_types;
  const id = newId('pi');
  const intent: PaymentIntent = {
    id,
    object: 'payment_intent',
    amount,
    amount_capturable: 0,
    amount_received: 0,
    currency,
    status: 'requires_payment_method',
    capture_method: optionalEnum(params, 'capture_method', ['automatic', 'automatic_async', 'manual'] as const) ?? 'automatic_async',
    confirmation_method: 'automatic',
    payment_method: optionalString(params, 'payment_method') ?? null,
    payment_method_types: Array.isArray(types) ? types.map(String) : ['card'],
    automatic_payment_methods:
      automatic || !Array.isArray(types)
        ? { enabled: automatic?.enabled !== 'false', allow_redirects: automatic?.allow_redirects === 'never' ? 'never' : 'always' }
        : null,
    latest_charge: null,
    last_payment_error: null,
    next_action: null,
    canceled_at: null,
    cancellation_reason: null,
    client_secret: `${id}_secret_${newId('x').slice(2)}`,
    description: optionalString(params, 'description') ?? null,
    metadata: optionalMetadata(params) ?? {},
    created: ctx.now,
    livemode: false,
  };
  if (intent.payment_method) intent.status = 'requires_confirmation';
  await insertObject(db, intent);
  await emitEvent(db, ctx, 'payment_intent.created', intent);
  if (optionalBoolean(params, 'confirm') === true) return confirm(db, ctx, intent, params);
  return intentResult(db, intent, params);
}

export async function confirmPaymentIntent(db: Db, ctx: OpContext, id: string, params: Params): Promise<ApiResult> {
  rejectUnknown(params, CONFIRM_PARAMS);
  const intent = await loadIntent(db, id, true);
  const captureMethod = optionalEnum(params, 'capture_method', ['automatic', 'automatic_async', 'manual'] as const);
  return confirm(db, ctx, captureMethod ? { ...intent, capture_method: captureMethod } : intent, params);
}

const CONFIRMABLE: readonly PaymentIntent['status'][] = ['requires_payment_method', 'requires_confirmation', 'requires_action'];

async function confirm(db: Db, ctx: OpContext, intent: PaymentIntent, params: Params): Promise<ApiResult> {
  if (!CONFIRMABLE.includes(intent.status)) {
    throw unexpectedState(
      `This PaymentIntent's status is ${intent.status}, but it must be one of requires_payment_method, requires_confirmation, requires_action to be confirmed.`,
    );
  }
  const paymentMethod = optionalString(params, 'payment_method') ?? intent.payment_method;
  if (!paymentMethod) {
    throw unexpectedState(
      "You cannot confirm this PaymentIntent because it's missing a payment method. To confirm the PaymentIntent with a customer, pass a payment_method.",
    );
  }
  const redirectsAllowed = intent.automatic_payment_methods?.enabled === true && intent.automatic_payment_methods.allow_redirects !== 'never';
  if (redirectsAllowed && optionalString(params, 'return_url') === undefined) {
    throw invalidRequest(
      'This PaymentIntent is configured to accept payment methods enabled in your Dashboard, some of which may require a full page redirect. Pass a return_url, or set automatic_payment_methods[allow_redirects]=never.',
    );
  }
  const card = TEST_CARDS[paymentMethod];
  if (!card) throw resourceMissing('PaymentMethod', paymentMethod, 'payment_method');
  const before = intent;
  switch (card.kind) {
    case 'requires_action': {
      const next: PaymentIntent = {
        ...intent,
        payment_method: paymentMethod,
        status: 'requires_action',
        next_action: { type: 'use_stripe_sdk', use_stripe_sdk: { type: 'three_d_secure_redirect', stripe_js: 'https://hooks.stripe.com/3d_secure_2/hosted' } },
      };
      await saveObject(db, next);
      await emitEvent(db, ctx, 'payment_intent.requires_action', next, previousAttributes(before, next));
      return intentResult(db, next, params);
    }
    case 'declined':
      return decline(db, ctx, intent, paymentMethod, card, params);
    case 'succeeds':
      return authorize(db, ctx, intent, paymentMethod, params);
  }
}

async function authorize(db: Db, ctx: OpContext, intent: PaymentIntent, paymentMethod: string, params: Params): Promise<ApiResult> {
  let charge: Charge = await createCharge(db, ctx, intent, paymentMethod);
  const manual = intent.capture_method === 'manual';
  if (!manual) charge = await captureCharge(db, ctx, charge, intent.amount, false);
  await emitEvent(db, ctx, 'charge.succeeded', charge);
  const next: PaymentIntent = {
    ...intent,
    payment_method: paymentMethod,
    status: manual ? 'requires_capture' : 'succeeded',
    amount_capturable: manual ? intent.amount : 0,
    amount_received: manual ? 0 : intent.amount,
    latest_charge: charge.id,
    last_payment_error: null,
    next_action: null,
  };
  await saveObject(db, next);
  await emitEvent(db, ctx, manual ? 'payment_intent.amount_capturable_updated' : 'payment_intent.succeeded', next, previousAttributes(intent, next));
  return intentResult(db, next, params);
}

/**
 * A decline is a committed change, not a refused request: the failed charge, the intent back in
 * requires_payment_method with last_payment_error, and payment_intent.payment_failed are stored, and
 * the 402 is saved for idempotent replay.
 */
async function decline(
  db: Db,
  ctx: OpContext,
  intent: PaymentIntent,
  paymentMethod: string,
  card: { code: string; declineCode?: string; message: string },
  params: Params,
): Promise<ApiResult> {
  const charge = await createCharge(db, ctx, intent, paymentMethod, card);
  await emitEvent(db, ctx, 'charge.failed', charge);
  const error = {
    type: 'card_error',
    code: card.code,
    ...(card.declineCode ? { decline_code: card.declineCode } : {}),
    message: card.message,
    charge: charge.id,
    doc_url: docUrl(card.code),
    payment_method: { id: paymentMethod, object: 'payment_method', type: 'card' },
  };
  const next: PaymentIntent = {
    ...intent,
    status: 'requires_payment_method',
    payment_method: null,
    latest_charge: charge.id,
    last_payment_error: error,
    next_action: null,
  };
  await saveObject(db, next);
  await emitEvent(db, ctx, 'payment_intent.payment_failed', next, previousAttributes(intent, next));
  const expanded = await expandObject(db, next, expandPaths(params));
  return { status: 402, body: { error: { ...error, payment_intent: expanded } } };
}
