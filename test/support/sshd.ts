/**
 * A real OpenSSH server for connection tests: one `sshd` per "instance", on a 127.0.0.x
 * loopback address and an unprivileged port, with its own host key and authorized_keys in a
 * temporary folder. Nothing of the user's ~/.ssh or PuTTY settings is read or written.
 * Each sshd ends with the process that started it, however that one ended (test/support/die-with-parent.ts).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, readFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { dieWithParent } from './die-with-parent.js';
import { requireTool } from './tools.js';

const run = promisify(execFile);

/** `ssh-keygen -t TYPE` into `path` (and `path.pub`), without a passphrase. */
export async function keygen(path: string, type: 'ed25519' | 'ecdsa' | 'rsa'): Promise<string> {
  await run(requireTool('ssh-keygen'), ['-q', '-t', type, '-N', '', '-C', `test-${type}`, '-f', path]);
  return readFileSync(`${path}.pub`, 'utf8').trim();
}

/** A TCP port free on every given loopback address. */
export async function freePort(addresses: readonly string[]): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, addresses[0], () => {
        const { port: p } = server.address() as { port: number };
        server.close(() => resolve(p));
      });
    });
    const free = await Promise.all(addresses.map((a) => canListen(a, port)));
    if (free.every(Boolean)) return port;
  }
  throw new Error(`no port is free on all of ${addresses.join(', ')}`);
}

function canListen(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, address, () => server.close(() => resolve(true)));
  });
}

export interface Sshd {
  address: string;
  port: number;
  /** The sshd's process id. */
  pid: number;
  /** sshd's log file (its -e output). */
  log: string;
  stop(): Promise<void>;
}

/** Starts sshd on address:port with the given host keys and authorized_keys; resolves once it accepts connections. */
export async function startSshd(options: { dir: string; address: string; port: number; hostKeys: string[]; authorizedKeys: string; extraOptions?: string[] }): Promise<Sshd> {
  const sshd = requireTool('sshd');
  // sshd's privilege separation needs this folder when run as root; the package makes it.
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const name = `${options.address}-${options.port}-${Date.now()}`;
  const log = join(options.dir, `sshd-${name}.log`);
  const args = [
    '-f', '/dev/null', '-D', '-e',
    '-p', String(options.port),
    '-o', `ListenAddress=${options.address}`,
    ...options.hostKeys.flatMap((k) => ['-o', `HostKey=${k}`]),
    '-o', `AuthorizedKeysFile=${options.authorizedKeys}`,
    '-o', `PidFile=${join(options.dir, `sshd-${name}.pid`)}`,
    '-o', 'StrictModes=no',
    '-o', 'PasswordAuthentication=no',
    '-o', 'KbdInteractiveAuthentication=no',
    '-o', 'UsePAM=no',
    ...(options.extraOptions ?? []).flatMap((o) => ['-o', o]),
  ];
  // Output to a file, not a pipe: sshd must never block on a reader that went away.
  const out = openSync(log, 'a');
  const [command, commandArgs] = dieWithParent(sshd, args);
  const child: ChildProcess = spawn(command, commandArgs, { stdio: ['ignore', out, out], detached: false });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 15_000;
  while (!(await accepts(options.address, options.port))) {
    const early = await Promise.race([exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 100))]);
    if (early !== undefined || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`sshd did not start on ${options.address}:${options.port}: ${readFileSync(log, 'utf8').trim() || 'no output'}`);
    }
  }
  return {
    address: options.address,
    port: options.port,
    pid: child.pid ?? -1,
    log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}

function accepts(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: address, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
