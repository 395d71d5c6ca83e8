import Stripe from 'stripe';
import { paymentStreamId } from '../../../commands/ids';
import { stripeEventStreamId } from '../../../commands/stripe-event-stream';
import type { Payment } from '../../../domain/payment.state';
import { startSaga, type SagaHarness } from '../../support/saga';

describe('POST /v1/webhooks/stripe', () => {
  let saga: SagaHarness;
  beforeAll(async () => {
    saga = await startSaga({ backend: 'postgres' });
  });
  afterAll(() => saga.close());

  const send = async (payload: string, signature: string | null) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (signature !== null) headers['stripe-signature'] = signature;
    const response = await fetch(`${saga.writeUrl}/v1/webhooks/stripe`, { method: 'POST', headers, body: payload });
    return { status: response.status, body: (await response.json()) as any };
  };
  const sign = (payload: string, secret = saga.webhookSecret, timestamp = Math.floor(Date.now() / 1000)) =>
    Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp });
  const stored = async (eventId: string) => (await saga.store.read(stripeEventStreamId(eventId))).length;
  const fakeEvent = (id: string) =>
    JSON.stringify({ id, object: 'event', type: 'payment_intent.succeeded', created: 1, data: { object: { id: 'pi_nothing', object: 'payment_intent' } } });

  it('answers 400 to a bad signature and stores nothing', async () => {
    const payload = fakeEvent('evt_badsignature0001');
    const response = await send(payload, sign(payload, 'whsec_someoneelse'));
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('webhook_signature_invalid');
    expect(await stored('evt_badsignature0001')).toBe(0);
  });

  it('answers 400 to a missing signature and stores nothing', async () => {
    const response = await send(fakeEvent('evt_nosignature00001'), null);
    expect(response.status).toBe(400);
    expect(await stored('evt_nosignature00001')).toBe(0);
  });

  it('answers 400 to a body changed after signing', async () => {
    const payload = fakeEvent('evt_tampered000000001');
    const response = await send(payload.replace('pi_nothing', 'pi_somethin'), sign(payload));
    expect(response.status).toBe(400);
    expect(await stored('evt_tampered000000001')).toBe(0);
  });

  it('answers 400 to a signature older than 300 s, and accepts one just inside the tolerance', async () => {
    const old = fakeEvent('evt_tooold0000000001');
    expect((await send(old, sign(old, saga.webhookSecret, Math.floor(Date.now() / 1000) - 301))).status).toBe(400);
    expect(await stored('evt_tooold0000000001')).toBe(0);
    const recent = fakeEvent('evt_recent0000000001');
    expect((await send(recent, sign(recent, saga.webhookSecret, Math.floor(Date.now() / 1000) - 290))).status).toBe(200);
    // It names an intent Stripe does not know: the job acknowledges it and acts on nothing.
    const deadline = Date.now() + 10_000;
    while (!(await saga.store.read(stripeEventStreamId('evt_recent0000000001'))).some((event) => event.type === 'StripeEventProcessed')) {
      if (Date.now() > deadline) throw new Error('the webhook job did not finish');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });

  it('answers 200 to a redelivered event and adds no fact', async () => {
    const id = await saga.createPayment({ amount: 3100 });
    await saga.waitFor(id, (state) => state.status === 'captured');
    const payment = (await saga.waitFor(id, (state) => state.status === 'captured')) as Payment;
    const events = await saga.processes.gateway.stripe.events.list({ limit: 100 });
    const succeeded = events.data.find((event) => event.type === 'payment_intent.succeeded' && (event.data.object as Stripe.PaymentIntent).id === payment.processorPaymentId);
    expect(succeeded).toBeDefined();
    const payload = JSON.stringify(succeeded);
    const before = (await saga.store.read(paymentStreamId(id))).length;

    for (let i = 0; i < 3; i += 1) expect((await send(payload, sign(payload))).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 500));

    expect((await saga.store.read(stripeEventStreamId(succeeded!.id))).filter((event) => event.type === 'StripeEventReceived')).toHaveLength(1);
    expect((await saga.store.read(paymentStreamId(id))).length).toBe(before);
  });

  it('records a refund made directly at Stripe, as from the dashboard, as PaymentRefunded', async () => {
    const id = await saga.createPayment({ amount: 5000 });
    const payment = (await saga.waitFor(id, (state) => state.status === 'captured')) as Payment;

    const refund = await saga.processes.gateway.stripe.refunds.create({ payment_intent: payment.processorPaymentId!, amount: 1250 });

    const after = (await saga.waitFor(id, (state) => state.status === 'partially_refunded')) as Payment;
    expect(after.amountRefunded).toBe(1250);
    const facts = (await saga.store.read(paymentStreamId(id))).filter((event) => event.type === 'PaymentRefunded');
    expect(facts).toHaveLength(1);
    expect(facts[0]!.data).toMatchObject({ amount: 1250, processor_refund_id: refund.id });
    expect(facts[0]!.metadata.source).toBe('stripe');
  });
});
