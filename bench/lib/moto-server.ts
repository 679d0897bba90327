/** Starts a private moto_server for the bench on a free port; stop() ends it (its process group). */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export interface Moto {
  endpoint: string;
  reset(): Promise<void>;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startMoto(): Promise<Moto> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  // The project's launcher (Route 53 CREATE as on AWS), as the integration tests use it.
  const launcher = process.env.MOTO_SERVER ? [process.env.MOTO_SERVER] : ['python3', fileURLToPath(new URL('../../scripts/moto-server.py', import.meta.url))];
  const child = spawn(launcher[0] as string, [...launcher.slice(1), '-H', '127.0.0.1', '-p', String(port)], {
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
  });
  let exited = false;
  child.once('exit', () => (exited = true));
  const reset = async () => {
    const res = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
    if (!res.ok) throw new Error(`moto reset failed: HTTP ${res.status}`);
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error('moto_server exited before it was ready (is moto installed? pip install "moto[server]")');
    try {
      await reset();
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`moto_server did not answer at ${endpoint} within 30 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    endpoint,
    reset,
    stop: () =>
      new Promise<void>((resolve) => {
        if (exited || child.pid === undefined) return resolve();
        child.once('exit', () => resolve());
        try {
          process.kill(-child.pid, 'SIGTERM');
        } catch {
          resolve();
        }
      }),
  };
}
