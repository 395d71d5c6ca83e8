// The write API as it runs in production: `node bin/ledger.js start --role write-api`, a process
// of its own over the compiled dist/ (`npm run bench` builds it first), configured only through its
// documented environment.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { configSchema } from '../../../infra/config';
import { peakRssOfPidMb } from '../harness';

const ROOT = resolve(__dirname, '../../..');
export interface LedgerProcess {
  readonly url: string;
  readonly pid: number;
  /** VmHWM of the process so far; read it before `stop`. */
  peakRssMb(): number;
  stop(): Promise<void>;
}

/**
 * Starts the role with `settings` as its whole configuration: every variable the ledger reads is
 * taken out of the inherited environment first, so a DATABASE_URL or REDIS_URL of the shell cannot
 * leak in. Request logs go to /dev/null (the process still formats and writes every line).
 */
export async function startLedgerProcess(options: {
  readonly role: string;
  readonly settings: Readonly<Record<string, string>>;
  readonly nodeOptions?: readonly string[];
}): Promise<LedgerProcess> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'ledger-bench-write-api-'));
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(configSchema.shape)) delete env[name];
  Object.assign(env, { NODE_ENV: 'production', HOST: '127.0.0.1', WRITE_API_PORT: String(port), LEDGER_DATA_DIR: dataDir }, options.settings);

  const child = spawn(process.execPath, [...(options.nodeOptions ?? []), join(ROOT, 'bin/ledger.js'), 'start', '--role', options.role], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForLive(url, exited, () => stderr);
  } catch (error) {
    child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    url,
    pid: child.pid!,
    peakRssMb: () => peakRssOfPidMb(child.pid!) ?? Number.NaN,
    async stop() {
      await terminate(child, exited);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function waitForLive(url: string, exited: Promise<number | null>, stderr: () => string): Promise<void> {
  let gone: number | null | undefined;
  void exited.then((code) => (gone = code));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (gone !== undefined) throw new Error(`the ledger process exited with ${gone} before it was live:\n${stderr()}`);
    const live = await fetch(`${url}/livez`).then(
      (response) => response.ok,
      () => false,
    );
    if (live) return;
    await new Promise((resolveWait) => setTimeout(resolveWait, 100));
  }
  throw new Error(`the ledger process was not live within 60 s:\n${stderr()}`);
}

async function terminate(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const stopped = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 10_000))]);
  if (!stopped) {
    child.kill('SIGKILL');
    await exited;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}
