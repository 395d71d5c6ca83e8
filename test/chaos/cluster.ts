import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, createWriteStream, existsSync, symlinkSync, type WriteStream } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/**
 * A copy of the compiled ledger (bin/, dist/, package.json; node_modules linked) for this run, so
 * that a rebuild of dist/ in the working tree while the soak runs cannot hand a restarted process
 * half-written code. Returns the copy's `ledger` command.
 */
export function snapshotLedger(runDir: string): string {
  const app = join(runDir, 'app');
  if (!existsSync(join(ROOT, 'dist', 'infra', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` (npm run test:chaos does)');
  cpSync(join(ROOT, 'dist'), join(app, 'dist'), { recursive: true });
  cpSync(join(ROOT, 'bin'), join(app, 'bin'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(app, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(app, 'node_modules'), 'dir');
  return join(app, 'bin', 'ledger.js');
}

export type LedgerRole = 'write-api' | 'read-api' | 'processes' | 'projections' | 'stripe-sandbox';

export interface Member {
  /** `write-1`, `processes-2`, ...: unique in the cluster. */
  readonly name: string;
  readonly role: LedgerRole;
  readonly url: string | null;
  /** True while its OS process runs. */
  alive(): boolean;
  /** How many times it was started. */
  starts(): number;
}

export interface Crash {
  readonly name: string;
  readonly exit: string;
  readonly at: string;
  readonly output: string;
}

export interface ClusterSettings {
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly queueName: string;
  readonly webhookSecret: string;
  readonly runDir: string;
  /** The `ledger` command to run (see snapshotLedger). */
  readonly ledger: string;
}

export interface Cluster {
  readonly sandboxUrl: string;
  readonly writeUrls: readonly string[];
  readonly readUrl: string;
  /** Every ledger process the killer may pick (not the sandbox). */
  readonly victims: readonly Member[];
  /** SIGKILL, then wait for the exit. */
  kill(name: string): Promise<void>;
  /** Starts it again, on the same port, and waits until it says it started. */
  restart(name: string): Promise<void>;
  /** Processes that exited on their own (not killed by us); each was started again. */
  readonly crashes: readonly Crash[];
  /** Environment for a one-off `ledger` command (audit, rebuild, reconcile) against this cluster. */
  commandEnv(): NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

interface Running {
  readonly spec: { name: string; role: LedgerRole; port: number | null };
  child: ChildProcess | null;
  starts: number;
  /** Set while we are the ones ending it (a kill, a stop). */
  ending: boolean;
  log: WriteStream;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Every part of the ledger as its own OS process, started from the compiled CLI the way it runs in
 * production, plus a small load balancer in front of the two write APIs for Stripe's webhooks (as
 * a deployment would have): a webhook goes to whichever write API is up.
 */
export async function startCluster(settings: ClusterSettings): Promise<Cluster> {
  const ports = { sandbox: await freePort(), write1: await freePort(), write2: await freePort(), read: await freePort() };
  const writeUrls = [`http://127.0.0.1:${ports.write1}`, `http://127.0.0.1:${ports.write2}`];
  const webhookBalancer = await startWebhookBalancer(writeUrls);
  const sandboxUrl = `http://127.0.0.1:${ports.sandbox}`;

  const baseEnv: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    DATABASE_URL: settings.databaseUrl,
    REDIS_URL: settings.redisUrl,
    DB_POOL_SIZE: '8',
    HOST: '127.0.0.1',
    STRIPE_WEBHOOK_SECRET: settings.webhookSecret,
    STRIPE_SANDBOX_PORT: String(ports.sandbox),
    STRIPE_SANDBOX_WEBHOOK_URL: `${webhookBalancer.url}/v1/webhooks/stripe`,
    SAGA_QUEUE: settings.queueName,
    SAGA_CONCURRENCY: '16',
    SAGA_STUCK_AFTER_MS: '5000',
    SAGA_JANITOR_EVERY_MS: '1000',
    RECONCILIATION_CRON: 'off',
    // The driver is one merchant sending thousands of requests a minute: a real limit would only
    // turn the soak into a rate-limit test.
    RATE_LIMIT_PER_KEY: '100000000',
    RATE_LIMIT_FAILED_AUTH: '100000000',
    PROCESSES_METRICS_PORT: '0',
    PROJECTIONS_METRICS_PORT: '0',
    LEDGER_DATA_DIR: join(settings.runDir, 'data'),
    LOG_LEVEL: 'warn',
    STRIPE_SUPPRESS_NOTICES: 'true',
  };
  // Ledger roles talk to the sandbox as if it were Stripe; the sandbox role itself has no key.
  const ledgerEnv = { ...baseEnv, STRIPE_SECRET_KEY: 'sk_test_chaos', STRIPE_API_URL: sandboxUrl };

  const specs: Running['spec'][] = [
    { name: 'write-1', role: 'write-api', port: ports.write1 },
    { name: 'write-2', role: 'write-api', port: ports.write2 },
    { name: 'read', role: 'read-api', port: ports.read },
    { name: 'processes-1', role: 'processes', port: null },
    { name: 'processes-2', role: 'processes', port: null },
    { name: 'projections', role: 'projections', port: null },
  ];
  const running = new Map<string, Running>();
  const crashes: Crash[] = [];
  let stopping = false;
  const sandbox: Running = {
    spec: { name: 'stripe-sandbox', role: 'stripe-sandbox', port: ports.sandbox },
    child: null,
    starts: 0,
    ending: false,
    log: createWriteStream(join(settings.runDir, 'stripe-sandbox.log'), { flags: 'a' }),
  };
  for (const spec of specs) {
    running.set(spec.name, { spec, child: null, starts: 0, ending: false, log: createWriteStream(join(settings.runDir, `${spec.name}.log`), { flags: 'a' }) });
  }

  const launch = (member: Running, env: NodeJS.ProcessEnv): Promise<void> => {
    const { role, port } = member.spec;
    const portEnv: NodeJS.ProcessEnv = role === 'write-api' ? { WRITE_API_PORT: String(port) } : role === 'read-api' ? { READ_API_PORT: String(port) } : {};
    member.starts += 1;
    member.log.write(`\n--- start ${member.starts} at ${new Date().toISOString()}\n`);
    const child = spawn(process.execPath, [settings.ledger, 'start', '--role', role], { env: { ...env, ...portEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    member.child = child;
    return new Promise((resolve, reject) => {
      let output = '';
      let started = false;
      const timer = setTimeout(() => reject(new Error(`${member.spec.name} did not start in 60 s: ${output.slice(-2000)}`)), 60_000);
      const onData = (chunk: Buffer) => {
        member.log.write(chunk);
        if (output.length < 100_000) output += chunk.toString();
        if (!started && output.includes('ledger started')) {
          started = true;
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code, signal) => {
        member.log.write(`--- exit ${code ?? signal} at ${new Date().toISOString()}\n`);
        if (member.child === child) member.child = null;
        clearTimeout(timer);
        // A process that dies on its own after it started is a finding: record it, start it again.
        if (started && !member.ending && !stopping) {
          crashes.push({ name: member.spec.name, exit: String(code ?? signal), at: new Date().toISOString(), output: output.slice(-2000) });
          setTimeout(() => void restartMember(member).catch(() => undefined), 500);
        }
        member.ending = false;
        reject(new Error(`${member.spec.name} exited (${code ?? signal}) before it started: ${output.slice(-2000)}`));
      });
    });
  };

  const exited = (child: ChildProcess): Promise<void> =>
    child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));

  // One start at a time per process, whoever asks (the killer, or the restart after a crash).
  const restarts = new Map<Running, Promise<void>>();
  const restartMember = (m: Running): Promise<void> => {
    const pending = restarts.get(m);
    if (pending) return pending;
    const starting = startAgain(m).finally(() => restarts.delete(m));
    restarts.set(m, starting);
    return starting;
  };
  const startAgain = async (m: Running): Promise<void> => {
    if (m.child) return;
    // A start can fail when the port is not free yet, or Postgres refuses a connection: try again.
    for (let attempt = 1; ; attempt += 1) {
      try {
        await launch(m, m === sandbox ? baseEnv : ledgerEnv);
        return;
      } catch (error) {
        const half = m.child as ChildProcess | null;
        if (half) {
          m.ending = true;
          half.kill('SIGKILL');
          await exited(half);
        }
        if (attempt >= 5 || stopping) throw error;
        await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
      }
    }
  };

  await launch(sandbox, baseEnv);
  await Promise.all([...running.values()].map((member) => launch(member, ledgerEnv)));

  const member = (name: string): Running => {
    const found = running.get(name);
    if (!found) throw new Error(`no ledger process named ${name}`);
    return found;
  };

  return {
    sandboxUrl,
    writeUrls,
    readUrl: `http://127.0.0.1:${ports.read}`,
    victims: [...running.values()].map((m) => ({
      name: m.spec.name,
      role: m.spec.role,
      url: m.spec.port === null ? null : `http://127.0.0.1:${m.spec.port}`,
      alive: () => m.child !== null,
      starts: () => m.starts,
    })),
    async kill(name) {
      const m = member(name);
      const child = m.child;
      if (!child) return;
      m.ending = true;
      child.kill('SIGKILL');
      await exited(child);
    },
    restart: (name) => restartMember(member(name)),
    crashes,
    commandEnv: () => ({ ...ledgerEnv }),
    async stop() {
      stopping = true;
      const all = [...running.values(), sandbox];
      await Promise.all(
        all.map(async (m) => {
          const child = m.child;
          if (!child) return;
          m.ending = true;
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          await exited(child);
          clearTimeout(timer);
        }),
      );
      await webhookBalancer.close();
      await Promise.all(all.map((m) => new Promise<void>((resolve) => m.log.end(() => resolve()))));
    },
  };
}

/** Forwards each webhook to a write API, the next one when that one cannot be reached. */
async function startWebhookBalancer(targets: readonly string[]): Promise<{ url: string; close(): Promise<void> }> {
  let turn = 0;
  const forward = async (request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const headers: Record<string, string> = {};
    for (const name of ['content-type', 'stripe-signature', 'user-agent']) {
      const value = request.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const first = turn++ % targets.length;
    for (let i = 0; i < targets.length; i += 1) {
      const target = targets[(first + i) % targets.length]!;
      try {
        const answer = await fetch(`${target}${request.url ?? '/'}`, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
        const text = await answer.text();
        response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'text/plain' });
        response.end(text);
        return;
      } catch {
        // That write API is down (killed): the next one.
      }
    }
    response.writeHead(502).end();
  };
  const server: Server = createServer((request, response) => {
    forward(request, response).catch(() => {
      if (!response.headersSent) response.writeHead(502);
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
