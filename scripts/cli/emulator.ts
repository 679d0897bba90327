/**
 * The local AWS emulator (moto in server mode) for `ec2ip demo`: started on a free
 * 127.0.0.1 port in a process group of its own, so stopping it stops everything it started.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { CliError, EXIT } from './errors.js';

const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 30_000;
export const INSTALL_HINT = 'install the local AWS emulator with:  pip install "moto[server]"  (then run `moto_server --help` to check it is on PATH)';

export interface Emulator {
  endpoint: string;
  pid: number;
  /** Stops the server (SIGTERM to its group, SIGKILL after 3 s, or at once with `now`); resolves when it is gone and reaped. */
  stop(now?: boolean): Promise<void>;
  /** Sends SIGKILL to the group at once: for `exit` handlers, which cannot wait. */
  killNow(): void;
}

/**
 * Starts `command` (default moto_server) and resolves once it answers. `onSpawn` gets the
 * emulator as soon as the process exists, so a signal during the start-up can stop it too.
 */
export async function startEmulator(command = 'moto_server', onSpawn?: (emulator: Emulator) => void): Promise<Emulator> {
  const port = await freePort();
  const endpoint = `http://${HOST}:${port}`;
  let output = '';
  const child = spawn(command, ['-H', HOST, '-p', String(port)], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
  });
  // Always drained: a full pipe would block the server.
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  let failure: CliError | undefined;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', (error: NodeJS.ErrnoException) => {
    failure = new CliError(
      error.code === 'ENOENT' ? `\`${command}\` was not found on PATH: ${INSTALL_HINT}` : `could not start \`${command}\` (${error.message}): ${INSTALL_HINT}`,
      EXIT.failed,
      { cause: error },
    );
  });
  child.once('exit', (code, signal) => {
    failure ??= new CliError(`\`${command}\` exited before it answered (code ${code}, signal ${signal}): ${INSTALL_HINT}\n${lastLines(output)}`, EXIT.failed);
  });

  const pid = child.pid;
  const signalGroup = (signal: NodeJS.Signals) => {
    if (pid === undefined) return;
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, signal);
      } catch {
        // Already gone.
      }
    }
  };
  const running = () => child.exitCode === null && child.signalCode === null && pid !== undefined;
  const emulator: Emulator = {
    endpoint,
    pid: pid ?? -1,
    killNow: () => signalGroup('SIGKILL'),
    stop: async (now = false) => {
      if (running()) {
        signalGroup(now ? 'SIGKILL' : 'SIGTERM');
        const timer = setTimeout(() => signalGroup('SIGKILL'), 3_000);
        await exited;
        clearTimeout(timer);
      }
      // The group may hold a worker that outlived its parent.
      signalGroup('SIGKILL');
    },
  };

  onSpawn?.(emulator);
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (failure) {
      await emulator.stop();
      throw failure;
    }
    if (Date.now() > deadline) {
      await emulator.stop();
      throw new CliError(`\`${command}\` did not answer at ${endpoint} within ${START_TIMEOUT_MS / 1000} s\n${lastLines(output)}`, EXIT.failed);
    }
    try {
      const res = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST', signal: AbortSignal.timeout(2_000) });
      if (res.ok) return emulator;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

function lastLines(text: string, n = 15): string {
  const lines = text.trimEnd().split('\n').slice(-n).join('\n');
  return lines ? `--- last lines of its output ---\n${lines}` : '';
}
