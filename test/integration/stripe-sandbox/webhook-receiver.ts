import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';

export interface Delivery {
  body: string;
  signature: string;
  at: number;
}

/** A small webhook endpoint that records every delivery and answers `status(n)` for the n-th one. */
export interface Receiver {
  url: string;
  deliveries: Delivery[];
  close(): Promise<void>;
}

export async function startReceiver(status: (n: number) => number = () => 200): Promise<Receiver> {
  const deliveries: Delivery[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      deliveries.push({ body: Buffer.concat(chunks).toString('utf8'), signature: String(req.headers['stripe-signature']), at: Date.now() });
      res.statusCode = status(deliveries.length);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    // A path of its own, so a later receiver on a reused port is never mistaken for this one.
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/stripe/${randomUUID()}`,
    deliveries,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
