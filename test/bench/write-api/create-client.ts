// The client side of the subject: POST /v1/payments over keep-alive connections, each request
// with a fresh Idempotency-Key, so that every one creates a payment.
//
// node:http rather than fetch: Node 20's bundled undici is reachable only as fetch, which costs
// about four times the CPU per request of node:http (measured on this machine: ~400 µs against
// ~90 µs, client and a trivial server together), and on two shared cores the generator's CPU is
// taken from the server under test. The `undici` package itself is not a dependency.
import { Agent, request } from 'node:http';
import type { Send } from './open-loop';

/** The body the README shows; a create, answered 202 with the payment in `requested`. */
export const CREATE_BODY = JSON.stringify({
  amount: 2000,
  currency: 'usd',
  customer_id: 'cus_42',
  payment_method: 'pm_card_visa',
  capture_method: 'manual',
});

const CREATED = 202;
const REQUEST_TIMEOUT_MS = 30_000;

export interface CreateClient {
  /** `keyPrefix` keeps the Idempotency-Keys of one search apart from another's. */
  sender(keyPrefix: string): Send;
  close(): void;
}

export function createPaymentClient(baseUrl: string, apiKey: string, maxSockets: number): CreateClient {
  const agent = new Agent({ keepAlive: true, maxSockets });
  const url = new URL('/v1/payments', baseUrl);
  const headers = {
    authorization: `Bearer ${apiKey}`,
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(CREATE_BODY)),
  };
  return {
    sender: (keyPrefix) => (index) => post(url, agent, { ...headers, 'idempotency-key': `${keyPrefix}-${index}` }),
    close: () => agent.destroy(),
  };
}

function post(url: URL, agent: Agent, headers: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method: 'POST', agent, headers }, (response) => {
      if (response.statusCode === CREATED) {
        response.resume();
        response.once('end', resolve);
        return;
      }
      let text = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      response.once('end', () => reject(new Error(`HTTP ${response.statusCode}: ${text.slice(0, 300)}`)));
    });
    outgoing.setTimeout(REQUEST_TIMEOUT_MS, () => outgoing.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    outgoing.once('error', reject);
    outgoing.end(CREATE_BODY);
  });
}
