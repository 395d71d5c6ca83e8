import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The `ledger` command; it runs the compiled code in dist/, which `npm test` builds first. */
const LEDGER = join(__dirname, '..', '..', '..', 'bin', 'ledger.js');

const answers = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/**
 * `npm start` as a newcomer runs it: every part and an embedded Postgres in one process. A SIGTERM
 * (or Ctrl+C) stops the parts first and the database last: no connection dies under a running part.
 */
describe('ledger start on the embedded Postgres, stopped by a signal', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('stops every part, then Postgres, and exits 0 on %s', async (signal) => {
    const pgPort = 20000 + Math.floor(Math.random() * 20000);
    const child = spawn(process.execPath, [LEDGER, 'start'], {
      env: {
        PATH: process.env.PATH,
        LEDGER_DATA_DIR: mkdtempSync(join(tmpdir(), 'ledger-shutdown-')),
        LEDGER_PG_PORT: String(pgPort),
        WRITE_API_PORT: '0',
        READ_API_PORT: '0',
        STRIPE_SANDBOX_PORT: '0',
        LOG_LEVEL: 'warn',
        STRIPE_SUPPRESS_NOTICES: 'true',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

    for (let waited = 0; !output.includes('ledger started') && waited < 60_000; waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(output).toContain('ledger started');
    expect(await answers(pgPort)).toBe(true);

    child.kill(signal);
    expect(await exited).toBe(0);
    expect(output).toContain(`${signal}: stopping`);
    // Postgres ending a connection under a running part ("terminating connection due to
    // administrator command", 57P01) or a client error nobody listened for.
    expect(output).not.toMatch(/57P01|administrator command|Emitted 'error'|"level":"error"/);
    expect(await answers(pgPort)).toBe(false);
  }, 120_000);
});
