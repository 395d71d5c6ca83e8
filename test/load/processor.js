'use strict';
// Keys, amounts and polling decisions for scenario.yml. Every create, capture and refund gets a
// fresh Idempotency-Key; a retry in the scenario reuses it, as a careful client does after a lost
// answer, so the duplicate check afterwards can tell a retried request from a new payment.
const { randomUUID } = require('node:crypto');

if (!process.env.LEDGER_API_KEY) {
  throw new Error('set LEDGER_API_KEY to a key with payments:write and payments:read (see README.md here)');
}

/** How many times a flow reads its payment while waiting for the saga (about 10 s at 0.25 s apart). */
const MAX_POLLS = 40;

const between = (low, high) => low + Math.floor(Math.random() * (high - low + 1));

function newPayment(context, _events, done) {
  context.vars.createKey = `load-${randomUUID()}`;
  context.vars.amount = between(500, 20_000);
  context.vars.customerId = `cus_load_${between(1, 500)}`;
  done();
}

/** A capture of all or, one time in three, part of the authorization. */
function newCapture(context, _events, done) {
  context.vars.captureKey = `load-capture-${randomUUID()}`;
  const amount = Number(context.vars.amount);
  context.vars.captureAmount = Math.random() < 1 / 3 ? Math.max(1, Math.floor(amount / 2)) : amount;
  done();
}

/** A refund of part of what was captured, so that a second refund would still have room. */
function newRefund(context, _events, done) {
  context.vars.refundKey = `load-refund-${randomUUID()}`;
  context.vars.refundAmount = Math.max(1, Math.floor(Number(context.vars.amount) / 3));
  done();
}

/** Loop conditions: keep reading while the saga has not moved the payment on, up to MAX_POLLS. */
function stillRequested(context, next) {
  next(context.vars.status === 'requested' && context.vars.$loopCount < MAX_POLLS);
}

function notYetCaptured(context, next) {
  const pending = context.vars.status === 'requested' || context.vars.status === 'authorized';
  next(pending && context.vars.$loopCount < MAX_POLLS);
}

/** `ifTrue` conditions (called with the scenario's variables). */
const isAuthorized = (vars) => vars.status === 'authorized';
const isCaptured = (vars) => vars.status === 'captured';
const listedOne = (vars) => typeof vars.listedId === 'string' && vars.listedId.length > 0;

/** Counts flows whose payment never reached the state they wait for: the saga fell behind or declined. */
function countStalled(wanted) {
  return (context, events, done) => {
    if (context.vars.status !== wanted) events.emit('counter', `ledger.stalled_before_${wanted}`, 1);
    done();
  };
}

module.exports = {
  newPayment,
  newCapture,
  newRefund,
  stillRequested,
  notYetCaptured,
  isAuthorized,
  isCaptured,
  listedOne,
  stalledBeforeAuthorized: countStalled('authorized'),
  stalledBeforeCaptured: countStalled('captured'),
};
