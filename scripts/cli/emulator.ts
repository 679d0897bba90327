/**
 * The local AWS emulator (moto in server mode) for `ec2ip demo`, the tests and the bench:
 * started on a free 127.0.0.1 port in a process group of its own, so stopping it stops
 * everything it started. Being in a group of its own also puts it out of reach of a signal to
 * the starter's group, so it holds the read end of a pipe whose write end only this process
 * has: when this process ends, however (SIGKILL included), scripts/moto-server.py sees the
 * pipe's end and stops its group within a moment (`--exit-with-stdin`).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { packageRoot } from '../deploy/build.js';
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
  /** The last lines the server printed, for an error message. */
  output(): string;
  /** Calls `listener` if the server exits before `stop` is called. */
  onUnexpectedExit(listener: (code: number | null, signal: NodeJS.Signals | null) => void): void;
}

/** How to start the emulator: a command and its leading arguments (moto_server's flags follow). */
export type Launcher = [string, ...string[]];

/**
 * The launcher to use: `MOTO_SERVER` when set; else scripts/moto-server.py of this checkout
 * (moto's own server with Route 53's CREATE made to behave as on AWS, which also stops when
 * its starter is gone); else `moto_server`, which only stops when it is told to.
 */
export function defaultLauncher(env: Record<string, string | undefined> = process.env): Launcher {
  if (env.MOTO_SERVER) return [env.MOTO_SERVER];
  try {
    const script = join(packageRoot(), 'scripts', 'moto-server.py');
    if (existsSync(script)) return ['python3', script, '--exit-with-stdin'];
  } catch {
    // Installed without its scripts/: plain moto.
  }
  return ['moto_server'];
}

export interface EmulatorOptions {
  launcher?: Launcher;
  /** Called as soon as the process exists, so a signal during the start-up can stop it too. */
  onSpawn?: (emulator: Emulator) => void;
}

/** Starts the emulator on a free 127.0.0.1 port and resolves once it answers. */
export async function startEmulator({ launcher = defaultLauncher(), onSpawn }: EmulatorOptions = {}): Promise<Emulator> {
  const [command, ...prefix] = launcher;
  const port = await freePort();
  const endpoint = `http://${HOST}:${port}`;
  let output = '';
  const child = spawn(command, [...prefix, '-H', HOST, '-p', String(port)], {
    detached: true,
    // stdin: the pipe whose end tells moto-server.py that this process is gone.
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
  });
  // Always drained: a full pipe would block the server.
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  // Never written to; an EPIPE once the server is gone is expected.
  child.stdin?.on('error', () => {});

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
  let stopping = false;
  const emulator: Emulator = {
    endpoint,
    pid: pid ?? -1,
    killNow: () => signalGroup('SIGKILL'),
    output: () => lastLines(output, 30),
    onUnexpectedExit: (listener) => child.once('exit', (code, signal) => stopping || listener(code, signal)),
    stop: async (now = false) => {
      stopping = true;
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
