/**
 * `npm run bench -- --only connect`: what connecting through `ec2ip proxy` costs.
 *
 * 1. `ssh … web true` to a running instance (a real sshd on 127.0.0.7), directly and through
 *    `ProxyCommand ec2ip proxy %n %p` (the built dist/cli.mjs against moto), interleaved, N
 *    runs each; medians and their ratio (goal ≤ 1.25).
 * 2. After a start: the bench plays the Lambda and the boot (the new address published 0.5 s
 *    after StartInstances, sshd up 1.5 s later) and measures from the moment sshd accepts
 *    (a 10 ms probe) to ssh having connected and run `true` (goal ≤ 1 s).
 */
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { StopInstancesCommand } from '@aws-sdk/client-ec2';
import { countCalls, startProxy } from '../test/support/aws-proxy.js';
import { freePort, keygen, startSshd, type Sshd } from '../test/support/sshd.js';
import { requireTool } from '../test/support/tools.js';
import { median } from './cold-start.js';
import { runInstances, seeder } from './lib/aws.js';
import type { Moto } from './lib/moto-server.js';
import { scratchDir } from '../scripts/package/scratch.mjs';

const ADDRESS = '127.0.0.7';
const NEW_ADDRESS = '127.0.0.8';

export interface ConnectResult {
  runs: number;
  directMs: number[];
  proxyMs: number[];
  directMedianMs: number;
  proxyMedianMs: number;
  ratio: number;
  goalRatio: number;
  afterStart: { acceptToConnectedMs: number[]; medianMs: number; startToConnectedMs: number[]; startInstancesCalls: number[]; goalMs: number };
}

export async function connectBench(moto: Moto, cliBundle: string, runs: number): Promise<ConnectResult> {
  const ssh = requireTool('ssh');
  requireTool('sshd');
  // Removed when the section ends; if the bench is killed, the next run's scratchDir removes it.
  const dir = scratchDir('bench-connect');
  const hostKey = join(dir, 'host_ed25519');
  const hostPub = (await keygen(hostKey, 'ed25519')).split(' ').slice(0, 2).join(' ');
  const userKey = join(dir, 'user_ed25519');
  writeFileSync(join(dir, 'authorized_keys'), await keygen(userKey, 'ed25519'));
  const port = await freePort([ADDRESS, NEW_ADDRESS]);

  await moto.reset();
  const s = seeder(moto.endpoint);
  const [id] = await runInstances(s, 1, 'web');
  const put = (leaf: string, value: string) => s.ssm.send(new PutParameterCommand({ Name: `/ec2ip/web/${leaf}`, Value: value, Type: 'String', Overwrite: true }));
  await put('instance-id', id as string);
  await put('public-ip', ADDRESS);
  const proxy = await startProxy({ target: moto.endpoint });

  const knownHosts = join(dir, 'known_hosts');
  writeFileSync(knownHosts, `${id} ${hostPub}\n`);
  const common = [`  HostKeyAlias ${id}`, `  Port ${port}`, `  User ${userInfo().username}`, `  IdentityFile ${userKey}`, '  IdentitiesOnly yes', `  UserKnownHostsFile ${knownHosts}`, '  BatchMode yes', '  StrictHostKeyChecking yes'];
  const proxyCommand = `${process.execPath} ${cliBundle} proxy %n %p --region us-east-1 --prefix /ec2ip`;
  const direct = join(dir, 'direct.conf');
  const through = join(dir, 'proxy.conf');
  const starting = join(dir, 'start.conf');
  writeFileSync(direct, ['Host web', `  HostName ${ADDRESS}`, ...common, ''].join('\n'));
  writeFileSync(through, ['Host web', '  HostName web.invalid', ...common, `  ProxyCommand ${proxyCommand}`, ''].join('\n'));
  writeFileSync(starting, ['Host web', '  HostName web.invalid', ...common, `  ProxyCommand ${proxyCommand} --start --wait 2m`, ''].join('\n'));
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    AWS_ENDPOINT_URL: proxy.url,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: 'us-east-1',
    AWS_CONFIG_FILE: '/nonexistent',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  const timeSsh = async (config: string): Promise<number> => {
    const t = performance.now();
    const { code, stderr } = await run(ssh, ['-F', config, 'web', 'true'], env);
    if (code !== 0) throw new Error(`ssh -F ${config} web true exited ${code}: ${stderr}`);
    return performance.now() - t;
  };

  const servers: Sshd[] = [];
  try {
    servers.push(await startSshd({ dir, address: ADDRESS, port, hostKeys: [hostKey], authorizedKeys: join(dir, 'authorized_keys') }));
    // One of each first: disk caches and moto warm up.
    await timeSsh(direct);
    await timeSsh(through);
    const directMs: number[] = [];
    const proxyMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      directMs.push(await timeSsh(direct));
      proxyMs.push(await timeSsh(through));
    }

    const acceptToConnectedMs: number[] = [];
    const startToConnectedMs: number[] = [];
    const startInstancesCalls: number[] = [];
    for (let i = 0; i < 3; i++) {
      await Promise.all(servers.splice(0).map((x) => x.stop()));
      await s.ec2.send(new StopInstancesCommand({ InstanceIds: [id as string] }));
      // ON_STOP=keep: the pre-stop address stays published (and nothing listens there now).
      const address = i % 2 === 0 ? NEW_ADDRESS : ADDRESS;
      proxy.requests.length = 0;
      const t0 = performance.now();
      const connecting = timeSsh(starting);
      while (!countCalls(proxy.requests)['ec2:StartInstances']) await sleep(10);
      await sleep(500);
      await put('public-ip', address);
      await sleep(1500);
      const booting = startSshd({ dir, address, port, hostKeys: [hostKey], authorizedKeys: join(dir, 'authorized_keys') });
      const accepted = await firstAccept(address, port);
      servers.push(await booting);
      await connecting;
      const done = performance.now();
      acceptToConnectedMs.push(Math.round(done - accepted));
      startToConnectedMs.push(Math.round(done - t0));
      startInstancesCalls.push(countCalls(proxy.requests)['ec2:StartInstances'] ?? 0);
    }
    const directMedianMs = Math.round(median(directMs));
    const proxyMedianMs = Math.round(median(proxyMs));
    return {
      runs,
      directMs: directMs.map(Math.round),
      proxyMs: proxyMs.map(Math.round),
      directMedianMs,
      proxyMedianMs,
      ratio: Math.round((proxyMedianMs / directMedianMs) * 100) / 100,
      goalRatio: 1.25,
      afterStart: { acceptToConnectedMs, medianMs: median(acceptToConnectedMs), startToConnectedMs, startInstancesCalls, goalMs: 1000 },
    };
  } finally {
    await Promise.all(servers.map((x) => x.stop()));
    await proxy.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The moment (performance.now) a TCP connection to address:port first succeeds, probing every 10 ms. */
async function firstAccept(address: string, port: number): Promise<number> {
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: address, port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return performance.now();
    await sleep(10);
  }
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? -1, stderr }));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export const CLI_BUNDLE = fileURLToPath(new URL('../../dist/cli.mjs', import.meta.url));
