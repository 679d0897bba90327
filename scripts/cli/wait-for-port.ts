/**
 * Waiting for a TCP port to accept: sshd comes up seconds after the instance is `running`.
 * The connection that succeeds is the one returned, so no second handshake is paid.
 */
import { createConnection, type Socket } from 'node:net';

/** One attempt: resolves with the connected socket (allowHalfOpen, for the relay) or rejects with the error. */
export function connectOnce(address: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: address, port, allowHalfOpen: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error(`no answer within ${Math.round(timeoutMs / 1000)} s`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    });
  });
}

/** The backoff before attempt `n` (0-based): 100 ms doubling, capped at 1 s. */
export function backoffMs(attempt: number): number {
  return Math.min(1000, 100 * 2 ** attempt);
}

/**
 * Connects, retrying with `backoffMs` until `deadline` (epoch ms); rejects with the last error
 * once it has passed. Each attempt waits at most 3 s (a dropped SYN) or what is left.
 */
export async function waitForPort(address: string, port: number, deadline: number, now: () => number = Date.now): Promise<Socket> {
  let lastError: Error = new Error('no attempt made');
  for (let attempt = 0; ; attempt++) {
    const left = deadline - now();
    if (left <= 0) throw lastError;
    try {
      return await connectOnce(address, port, Math.min(3000, Math.max(left, 200)));
    } catch (error) {
      lastError = error as Error;
    }
    const pause = Math.min(backoffMs(attempt), deadline - now());
    if (pause <= 0) throw lastError;
    await new Promise((r) => setTimeout(r, pause));
  }
}
