import { fork } from 'node:child_process';
import { resolve } from 'node:path';
import { peakRssOfPidMb } from '../harness';

export interface SandboxProcess {
  readonly port: number;
  /** Stops the process and gives its peak RSS in MiB. */
  stop(): Promise<number>;
}

/** Starts sandbox-server.ts on `databaseUrl` and waits for its port. */
export function startSandboxProcess(databaseUrl: string): Promise<SandboxProcess> {
  const child = fork(resolve(__dirname, 'sandbox-server.ts'), [databaseUrl], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  return new Promise((resolvePromise, reject) => {
    child.once('message', ({ port }: { port: number }) => {
      resolvePromise({
        port,
        async stop() {
          // VmHWM can only be read while the process is still there.
          const peakRssMb = peakRssOfPidMb(child.pid!) ?? Number.NaN;
          child.disconnect();
          await exited;
          return peakRssMb;
        },
      });
    });
    child.once('exit', (code) => reject(new Error(`the sandbox process exited with ${code} before listening`)));
  });
}
