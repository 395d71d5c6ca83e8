import type { RecordedEvent } from '../../../ports/event-store';
import type { PaymentEvent } from '../../../domain/payment.events';
import { foldPaymentEvent, nextPaymentRow } from '../../../projections/payments.projection';
import type { PaymentRowState, PaymentsBatch } from '../../../projections/payments.projection';
import { foldLedgerEvent } from '../../../projections/ledger.projection';
import type { LedgerBatch } from '../../../projections/ledger.projection';
import type { LedgerEntry, LedgerPayment } from '../../../projections/ledger.postings';
import { balanceDeltas, netBalanceDeltas, postingsFor } from '../../../projections/ledger.postings';
import {
  AMOUNT,
  FEE,
  PAYMENT_ID,
  paymentAuthorized,
  paymentCanceled,
  paymentCaptured,
  paymentRefunded,
  paymentRequested,
  refundRequested,
} from '../domain/support/builders';

const STREAM = `payment-${PAYMENT_ID}`;
const PAYABLE = 'merchant_payable:acct_merchant_1';

function recorded(events: readonly PaymentEvent[]): RecordedEvent[] {
  return events.map((event, revision) => ({
    id: `00000000-0000-4000-8000-${String(revision).padStart(12, '0')}`,
    streamId: STREAM,
    revision,
    position: { commit: 100n + BigInt(revision), prepare: 1000n + BigInt(revision) },
    type: event.type,
    data: event.data as unknown as Record<string, unknown>,
    metadata: { correlation_id: 'c', causation_id: 'c', actor: 'a', source: 's' },
    recordedAt: new Date('2025-03-01T10:00:00.000Z'),
    prevHash: '',
    hash: '',
  }));
}

/** given(events).then(...): the payments row after folding the events one by one. */
function paymentRowAfter(events: readonly PaymentEvent[]) {
  let row: PaymentRowState | null = null;
  let last = null;
  for (const event of recorded(events)) {
    last = nextPaymentRow(row, event) ?? last;
    if (last) row = { revision: last.revision, state: last.state };
  }
  return last!;
}

/** given(events).then(...): the ledger entries the events produce, and what the ledger keeps. */
function ledgerAfter(events: readonly PaymentEvent[]): { payment: LedgerPayment; entries: LedgerEntry[] } {
  let payment: LedgerPayment | null = null;
  const entries: LedgerEntry[] = [];
  for (const event of recorded(events)) {
    const postings = postingsFor(payment, event, PAYMENT_ID);
    if (!postings) continue;
    payment = postings.payment;
    entries.push(...postings.entries);
  }
  return { payment: payment!, entries };
}

describe('the payments projection', () => {
  describe('when a payment is authorized and captured with a fee', () => {
    it('holds the representation of the fold, with the last revision and position', () => {
      const row = paymentRowAfter([paymentRequested(), paymentAuthorized(), paymentCaptured()]);
      expect(row).toMatchObject({
        id: PAYMENT_ID,
        merchant_id: 'acct_merchant_1',
        status: 'captured',
        amount: AMOUNT,
        amount_captured: AMOUNT,
        fee: FEE,
        net: AMOUNT - FEE,
        revision: 2,
        position: '102:1002',
      });
    });
  });

  describe('when an event is applied a second time', () => {
    it('changes nothing', () => {
      const [requested, authorized] = recorded([paymentRequested(), paymentAuthorized()]);
      const first = nextPaymentRow(null, requested!)!;
      const second = nextPaymentRow({ revision: first.revision, state: first.state }, authorized!)!;
      expect(nextPaymentRow({ revision: second.revision, state: second.state }, authorized!)).toBeNull();
      expect(nextPaymentRow({ revision: second.revision, state: second.state }, requested!)).toBeNull();
    });
  });

  describe('when an event arrives after a gap in the stream', () => {
    it('throws: readAll never skips an event, so a gap is a bug', () => {
      const [requested, , captured] = recorded([paymentRequested(), paymentAuthorized(), paymentCaptured()]);
      const first = nextPaymentRow(null, requested!)!;
      expect(() => nextPaymentRow({ revision: first.revision, state: first.state }, captured!)).toThrow(/revision 2 follows 0/);
    });
  });
});

describe('a batch of the payments projection', () => {
  const emptyBatch = (): PaymentsBatch => ({ rows: new Map([[PAYMENT_ID, null]]), changed: new Map() });

  describe('when it holds several events of one payment', () => {
    it('changes one row, to its version after the last of them', () => {
      const batch = emptyBatch();
      for (const event of recorded([paymentRequested(), paymentAuthorized(), paymentCaptured()])) foldPaymentEvent(batch, event);
      expect([...batch.changed.keys()]).toEqual([PAYMENT_ID]);
      expect(batch.changed.get(PAYMENT_ID)).toEqual(paymentRowAfter([paymentRequested(), paymentAuthorized(), paymentCaptured()]));
    });
  });

  describe('when its events are folded a second time', () => {
    it('changes nothing', () => {
      const events = recorded([paymentRequested(), paymentAuthorized()]);
      const batch = emptyBatch();
      for (const event of events) foldPaymentEvent(batch, event);
      const once = structuredClone(batch);
      for (const event of events) foldPaymentEvent(batch, event);
      expect(batch).toEqual(once);
    });
  });

  describe('when the loaded row is already past the event', () => {
    it('leaves the row out of the batch\'s changes', () => {
      const [requested, authorized] = recorded([paymentRequested(), paymentAuthorized()]);
      const row = paymentRowAfter([paymentRequested(), paymentAuthorized()]);
      const batch: PaymentsBatch = { rows: new Map([[PAYMENT_ID, { revision: row.revision, state: row.state }]]), changed: new Map() };
      foldPaymentEvent(batch, requested!);
      foldPaymentEvent(batch, authorized!);
      expect(batch.changed.size).toBe(0);
    });
  });

  describe('when an event belongs to a payment that was not loaded', () => {
    it('throws: the runner loads every payment of the batch first', () => {
      const batch: PaymentsBatch = { rows: new Map(), changed: new Map() };
      expect(() => foldPaymentEvent(batch, recorded([paymentRequested()])[0]!)).toThrow(/not in the batch that was loaded/);
    });
  });
});

describe('the ledger postings', () => {
  describe('when a payment is authorized', () => {
    it('records a pending transfer from stripe_balance to the merchant payable', () => {
      const { entries, payment } = ledgerAfter([paymentRequested(), paymentAuthorized()]);
      expect(entries.map((e) => [e.kind, e.phase, e.debitAccount, e.creditAccount, e.amount])).toEqual([
        ['authorization', 'pending', 'stripe_balance', PAYABLE, AMOUNT],
      ]);
      expect(payment).toMatchObject({ pendingEntryId: entries[0]!.id, pendingAmount: AMOUNT });
    });
  });

  describe('when it is captured in part', () => {
    it('posts the capture, voids the rest of the hold and posts the fee', () => {
      const { entries, payment } = ledgerAfter([paymentRequested(), paymentAuthorized(), paymentCaptured({ amount_captured: 6000, fee: 204 })]);
      const hold = entries[0]!.id;
      expect(entries.slice(1).map((e) => [e.kind, e.phase, e.pendingEntryId, e.debitAccount, e.creditAccount, e.amount])).toEqual([
        ['capture', 'posted', hold, 'stripe_balance', PAYABLE, 6000],
        ['release', 'voided', hold, 'stripe_balance', PAYABLE, 4000],
        ['fee', 'posted', null, PAYABLE, 'stripe_balance', 204],
      ]);
      expect(payment).toMatchObject({ pendingEntryId: null, pendingAmount: 0 });
    });
  });

  describe('when it is canceled after the authorization', () => {
    it('voids the whole hold', () => {
      const { entries } = ledgerAfter([paymentRequested(), paymentAuthorized(), paymentCanceled()]);
      expect(entries.map((e) => [e.kind, e.phase, e.amount])).toEqual([
        ['authorization', 'pending', AMOUNT],
        ['cancel', 'voided', AMOUNT],
      ]);
    });
  });

  describe('when it is refunded', () => {
    it('posts the refund from the merchant payable back to stripe_balance', () => {
      const { entries } = ledgerAfter([paymentRequested(), paymentAuthorized(), paymentCaptured(), paymentRefunded({ amount: 2500 })]);
      expect(entries[entries.length - 1]).toMatchObject({ kind: 'refund', phase: 'posted', debitAccount: PAYABLE, creditAccount: 'stripe_balance', amount: 2500 });
    });
  });

  describe('over a whole life', () => {
    it('balances every entry and leaves the accounts summing to zero, pending and posted', () => {
      const { entries } = ledgerAfter([paymentRequested(), paymentAuthorized(), paymentCaptured({ amount_captured: 7000 }), paymentRefunded({ amount: 1000 })]);
      const totals = new Map<string, number[]>();
      for (const entry of entries) {
        const [debit, credit] = balanceDeltas(entry);
        expect(debit.debitsPending + debit.debitsPosted).toBe(credit.creditsPending + credit.creditsPosted);
        for (const d of [debit, credit]) {
          const t = totals.get(d.account) ?? [0, 0, 0, 0];
          totals.set(d.account, [t[0]! + d.debitsPending, t[1]! + d.creditsPending, t[2]! + d.debitsPosted, t[3]! + d.creditsPosted]);
        }
      }
      const sum = (i: number) => [...totals.values()].reduce((s, t) => s + t[i]!, 0);
      expect(sum(0) - sum(1)).toBe(0);
      expect(sum(2) - sum(3)).toBe(0);
      expect(totals.get(PAYABLE)).toEqual([0, 0, FEE + 1000, 7000]);
    });

    it('derives the same entry ids on a replay', () => {
      const events = [paymentRequested(), paymentAuthorized(), paymentCaptured()];
      expect(ledgerAfter(events).entries.map((e) => e.id)).toEqual(ledgerAfter(events).entries.map((e) => e.id));
    });
  });
});

describe('a batch of the ledger projection', () => {
  const emptyBatch = (): LedgerBatch => ({ payments: new Map([[PAYMENT_ID, null]]), changed: new Set(), entries: [] });
  const life = [paymentRequested(), paymentAuthorized(), paymentCaptured({ amount_captured: 7000 }), refundRequested({ amount: 1000 }), paymentRefunded({ amount: 1000 })];

  describe('when it holds a whole life', () => {
    it('posts the entries of folding the events one by one, and keeps the last state', () => {
      const batch = emptyBatch();
      for (const event of recorded(life)) foldLedgerEvent(batch, event);
      expect(batch.entries).toEqual(ledgerAfter(life).entries);
      expect(batch.payments.get(PAYMENT_ID)).toEqual(ledgerAfter(life).payment);
      expect([...batch.changed]).toEqual([PAYMENT_ID]);
    });

    it('nets the balances per account and currency, summing to zero pending and posted', () => {
      const deltas = netBalanceDeltas(ledgerAfter(life).entries);
      expect(deltas.map((d) => d.account)).toEqual([PAYABLE, 'stripe_balance']);
      expect(deltas.find((d) => d.account === PAYABLE)).toMatchObject({ debitsPending: 0, creditsPending: 0, debitsPosted: FEE + 1000, creditsPosted: 7000 });
      const sum = (pick: (d: (typeof deltas)[number]) => number) => deltas.reduce((total, d) => total + pick(d), 0);
      expect(sum((d) => d.debitsPending - d.creditsPending)).toBe(0);
      expect(sum((d) => d.debitsPosted - d.creditsPosted)).toBe(0);
    });
  });

  describe('when a hold and its release fall in the same batch', () => {
    it('still names both accounts, with changes that net to nothing', () => {
      const { entries } = ledgerAfter([paymentRequested(), paymentAuthorized(), paymentCanceled()]);
      expect(netBalanceDeltas(entries)).toEqual([
        { account: PAYABLE, currency: entries[0]!.currency, debitsPending: 0, creditsPending: 0, debitsPosted: 0, creditsPosted: 0 },
        { account: 'stripe_balance', currency: entries[0]!.currency, debitsPending: 0, creditsPending: 0, debitsPosted: 0, creditsPosted: 0 },
      ]);
    });
  });

  describe('when its events are folded a second time', () => {
    it('posts no entry twice', () => {
      const batch = emptyBatch();
      for (const event of recorded(life)) foldLedgerEvent(batch, event);
      for (const event of recorded(life)) foldLedgerEvent(batch, event);
      expect(batch.entries).toHaveLength(ledgerAfter(life).entries.length);
    });
  });

  describe('when an event belongs to a payment that was not loaded', () => {
    it('throws: the runner loads every payment of the batch first', () => {
      const batch: LedgerBatch = { payments: new Map(), changed: new Set(), entries: [] };
      expect(() => foldLedgerEvent(batch, recorded([paymentRequested()])[0]!)).toThrow(/not in the batch that was loaded/);
    });
  });
});
