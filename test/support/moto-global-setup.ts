/**
 * Vitest globalSetup for the `integration` project: one moto server per run.
 *
 * Starts `moto_server -H 127.0.0.1 -p <free port>`, waits until it answers and
 * hands its URL to the test files as `inject('motoEndpoint')`. Never skips: if
 * moto is missing or dies, the run fails with a message saying how to fix it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URL of the shared moto server, e.g. `http://127.0.0.1:40123`. */
    motoEndpoint: string;
  }
}

const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 30_000;
const INSTALL_HINT =
  'moto_server (the local AWS emulator) is required for the integration tests. ' +
  'Install it with:  pip install "moto[server]"  (or run .ci/run, which does it).';

/** A free TCP port: listen on port 0, read the port, close. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('could not determine a free port'));
        return;
      }
      const { port } = address;
      server.close(() => resolve(port));
    });
  });
}

/** Keeps the last `max` characters of moto's output for error messages. */
class Tail {
  private text = '';
  constructor(private readonly max = 16_000) {}
  push(chunk: Buffer | string): void {
    this.text += chunk.toString();
    if (this.text.length > this.max) this.text = this.text.slice(-this.max);
  }
  lines(n = 30): string {
    const lines = this.text.trimEnd().split('\n');
    return lines.slice(-n).join('\n');
  }
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) {
      resolve();
      return;
    }
    const pid = child.pid;
    const timer = setTimeout(() => {
      // Did not stop on SIGTERM: force it (group first, then the process).
      try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ }
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      resolve();
    }, 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    // The child leads its own process group (detached): kill the group so a
    // wrapper (pyenv shim, python -m) cannot leave the real server behind.
    try { process.kill(-pid, 'SIGTERM'); } catch { /* no group */ }
    try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ }
  });
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // scripts/moto-server.py runs moto's own server with Route 53's CREATE fixed to behave
  // as on AWS (see the file); MOTO_SERVER can name another launcher taking moto_server's flags.
  const launcher = process.env.MOTO_SERVER ? [process.env.MOTO_SERVER] : ['python3', fileURLToPath(new URL('../../scripts/moto-server.py', import.meta.url))];
  const command = launcher[0] as string;
  const port = await freePort();
  const endpoint = `http://${HOST}:${port}`;
  const output = new Tail();

  const child = spawn(command, [...launcher.slice(1), '-H', HOST, '-p', String(port)], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
  });
  child.stdout?.on('data', (c: Buffer) => output.push(c));
  child.stderr?.on('data', (c: Buffer) => output.push(c));

  let failure: Error | undefined;
  child.once('error', (err: NodeJS.ErrnoException) => {
    failure =
      err.code === 'ENOENT'
        ? new Error(`\`${command}\` was not found on PATH. ${INSTALL_HINT}`)
        : new Error(`could not start \`${command}\`: ${err.message}. ${INSTALL_HINT}`);
  });
  child.once('exit', (code, signal) => {
    failure ??= new Error(
      `\`${command}\` exited before it was ready (code ${code}, signal ${signal}). ${INSTALL_HINT}\n` +
        `--- last lines of moto output ---\n${output.lines()}`,
    );
  });

  const deadline = Date.now() + START_TIMEOUT_MS;
  let ready = false;
  while (!ready) {
    if (failure) throw failure;
    if (Date.now() > deadline) {
      await stop(child);
      throw new Error(
        `moto_server did not answer at ${endpoint}/moto-api/ within ${START_TIMEOUT_MS / 1000} s.\n` +
          `--- last lines of moto output ---\n${output.lines()}`,
      );
    }
    try {
      const res = await fetch(`${endpoint}/moto-api/reset`, {
        method: 'POST',
        signal: AbortSignal.timeout(2_000),
      });
      ready = res.ok;
    } catch {
      // not listening yet
    }
    if (!ready) await new Promise((r) => setTimeout(r, 100));
  }

  // From here on a dying server should be loud, not a wall of ECONNREFUSED.
  child.removeAllListeners('exit');
  let stopping = false;
  child.once('exit', (code, signal) => {
    if (stopping) return;
    console.error(
      `[moto] moto_server at ${endpoint} died during the run (code ${code}, signal ${signal}).\n` +
        `--- last lines of moto output ---\n${output.lines()}`,
    );
  });

  project.provide('motoEndpoint', endpoint);

  return async () => {
    stopping = true;
    await stop(child);
  };
}
