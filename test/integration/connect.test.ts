/**
 * The connection itself, end to end: files made by the built CLI against moto (host keys fed
 * through a recorded GetConsoleOutput answer), then a real OpenSSH sshd as the instance on
 * 127.0.0.2 and, after a stop/start, on 127.0.0.3, reached by real ssh and plink. Nothing of
 * the user's ~/.ssh or PuTTY settings is read or written: every client gets its own files.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import SSHConfig from 'ssh-config';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { unixName } from '../../scripts/cli/putty-sessions.js';
import { consoleAnswer, consoleWith } from '../support/aws-answers.js';
import { startProxy, type AwsProxy } from '../support/aws-proxy.js';
import { runBuilt, runCommand as client, tempDir } from '../support/cli.js';
import { cleanEnv } from '../support/installed.js';
import { DeleteParameterCommand } from '@aws-sdk/client-ssm';
import { scheduledEvent } from '../support/events.js';
import { useIamAudit, USER_ACCESS_KEY, USER_POLICIES } from '../support/iam-audit.js';
import { loadHandler, putParameter, runInstance, startInstances, stopInstances, useMoto } from '../support/moto.js';
import { captureStdout } from '../support/output.js';
import { parseReg, PUTTY_SETTING_TYPES, regToPuttyDir } from '../support/reg-file.js';
import { freePort, keygen, startSshd, type Sshd } from '../support/sshd.js';
import { requireTool } from '../support/tools.js';

const BEFORE = '127.0.0.2';
const AFTER = '127.0.0.3';
/** The "instance's" global IPv6 address: loopback here, where an sshd can listen. */
const IPV6 = '::1';

describe('connecting across a stop/start with real sshd, ssh and plink', () => {
  const aws = useMoto();
  // The person's calls (the CLI, and ec2ip proxy under ssh) against the policies docs/connecting.md quotes; the Lambda's are not theirs.
  const audit = useIamAudit('cli', { accessKeyId: USER_ACCESS_KEY, policies: [USER_POLICIES.read, USER_POLICIES.connect] });
  const tools: Record<string, string> = {};
  let dir: string;
  let port: number;
  let hostKeys: string[];
  let impostorKey: string;
  let userKey: string;
  let consoleKeys: string[] | undefined;
  let proxy: AwsProxy;
  let web: string;
  const servers: Sshd[] = [];

  beforeAll(async () => {
    // Missing tools fail the tests with the install command; they never skip them.
    for (const tool of ['sshd', 'ssh', 'ssh-keygen', 'plink', 'puttygen']) tools[tool] = requireTool(tool);
    dir = tempDir();
    port = await freePort([BEFORE, AFTER, IPV6]);
    const pub = await Promise.all((['ed25519', 'ecdsa', 'rsa'] as const).map((t) => keygen(join(dir, `host_${t}`), t)));
    hostKeys = pub.map((line) => line.split(' ').slice(0, 2).join(' '));
    await keygen(join(dir, 'impostor_ed25519'), 'ed25519');
    impostorKey = join(dir, 'impostor_ed25519');
    userKey = join(dir, 'work.pem');
    writeFileSync(join(dir, 'authorized_keys'), await keygen(userKey, 'ed25519'));
  });

  beforeEach(async () => {
    web = await runInstance({ tags: { 'ec2ip:name': 'web' } });
    // As the Lambda publishes it; the address is the "instance's", a loopback one here.
    await Promise.all([putParameter('/ec2ip/web/instance-id', web), putParameter('/ec2ip/web/public-ip', BEFORE), putParameter('/ec2ip/web/private-ip', '172.31.5.20')]);
    consoleKeys = hostKeys;
    proxy = await startProxy({
      ...audit.hooks,
      target: aws.endpoint,
      respond: ({ service, action, body }) => {
        if (service !== 'ec2' || action !== 'GetConsoleOutput' || !consoleKeys) return undefined;
        const id = new URLSearchParams(body).get('InstanceId') ?? '';
        return consoleAnswer(id, consoleWith(consoleKeys));
      },
    });
  });

  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()));
    await proxy.stop();
  });

  /** The built CLI as a user runs it, against moto through the proxy, with a home of its own. */
  const ec2ip = (args: string[], home = join(dir, 'home')) =>
    runBuilt(args, cleanEnv({ HOME: home, AWS_ENDPOINT_URL: proxy.url, AWS_ACCESS_KEY_ID: USER_ACCESS_KEY, AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' }));

  const instance = async (address: string, keys = [join(dir, 'host_ed25519'), join(dir, 'host_ecdsa'), join(dir, 'host_rsa')]) => {
    const server = await startSshd({ dir, address, port, hostKeys: keys, authorizedKeys: join(dir, 'authorized_keys') });
    servers.push(server);
    return server;
  };
  const stopAll = () => Promise.all(servers.splice(0).map((s) => s.stop()));

  const clientEnv = (home: string, extra: Record<string, string> = {}) => ({ PATH: process.env.PATH ?? '', HOME: home, ...extra });
  const ssh = (config: string, home: string) =>
    client(tools.ssh as string, ['-F', config, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', 'IdentitiesOnly=yes', 'web', 'true'], clientEnv(home));
  const plink = (puttyDir: string, home: string, extra: string[] = []) => client(tools.plink as string, ['-batch', '-load', 'ec2ip-web', ...extra, 'true'], clientEnv(home, { PUTTYDIR: puttyDir }));

  it('ssh and plink connect before and after the address changes, with no prompt and no host key added', async () => {
    const home = tempDir();
    const config = join(home, 'ec2ip.conf');
    const knownHosts = join(home, 'known_hosts');
    const puttyDir = join(home, 'putty');
    const me = userInfo().username;
    const generate = async () => {
      const sshConfig = await ec2ip(['ssh-config', '--user', me, '--identity-file', userKey, '--port', String(port), '--known-hosts', knownHosts, '--output', config], home);
      expect(sshConfig.code, sshConfig.stderr).toBe(0);
      const putty = await ec2ip(['putty', '--format', 'unix', '--user', me, '--convert-key', userKey, '--port', String(port), '--output', puttyDir], home);
      expect(putty.code, putty.stderr).toBe(0);
      return { sshConfig, putty };
    };

    const first = await generate();
    expect(first.sshConfig.stderr).toContain(`recorded 3 host keys of web (${web})`);
    expect(existsSync(join(dir, 'work.ppk'))).toBe(true);
    const recordedKnownHosts = readFileSync(knownHosts, 'utf8');
    const recordedPutty = readFileSync(join(puttyDir, 'sshhostkeys'), 'utf8');
    expect(recordedKnownHosts.split('\n').filter((l) => l.startsWith(`${web} `))).toHaveLength(3);
    expect(recordedPutty.split('\n').filter((l) => l.includes(`@22:${web} `))).toHaveLength(3);
    const unchanged = () => {
      expect(readFileSync(knownHosts, 'utf8')).toBe(recordedKnownHosts);
      expect(readFileSync(join(puttyDir, 'sshhostkeys'), 'utf8')).toBe(recordedPutty);
    };

    await instance(BEFORE);
    const before = await Promise.all([ssh(config, home), plink(puttyDir, home)]);
    expect(before.map((r) => r.code), before.map((r) => r.stderr).join('\n')).toEqual([0, 0]);
    unchanged();

    // Stop/start: a new public IP, published as the Lambda would; the same instance and host keys.
    await stopAll();
    await putParameter('/ec2ip/web/public-ip', AFTER);
    await generate();
    expect(readFileSync(config, 'utf8')).toContain(`HostName ${AFTER}`);
    expect(readFileSync(join(puttyDir, 'sessions', unixName('ec2ip-web')), 'utf8')).toContain(`HostName=${AFTER}\n`);
    unchanged();
    await instance(AFTER);
    const after = await Promise.all([ssh(config, home), plink(puttyDir, home)]);
    expect(after.map((r) => r.code), after.map((r) => r.stderr).join('\n')).toEqual([0, 0]);
    unchanged();

    // Another machine behind the same address, with another host key: both clients refuse it.
    await stopAll();
    await instance(AFTER, [impostorKey]);
    const [sshImpostor, plinkImpostor] = await Promise.all([ssh(config, home), plink(puttyDir, home)]);
    expect(sshImpostor.code).toBe(255);
    expect(sshImpostor.stderr).toContain('Host key verification failed');
    expect(plinkImpostor.code).toBe(1);
    expect(plinkImpostor.stderr).toMatch(/host key/i);
    unchanged();
  });

  it('with only IPv6 and a private IPv4 published, ssh-config and putty use the IPv6 address, and ssh and plink connect on ::1', async () => {
    // An instance without a public IPv4 (no $0.005/h charge), as the Lambda publishes it: ipv6 and private-ip.
    await aws.ssm.send(new DeleteParameterCommand({ Name: '/ec2ip/web/public-ip' }));
    await putParameter('/ec2ip/web/ipv6', IPV6);
    const home = tempDir();
    const config = join(home, 'ec2ip.conf');
    const knownHosts = join(home, 'known_hosts');
    const puttyDir = join(home, 'putty');
    const me = userInfo().username;
    const sshConfig = await ec2ip(['ssh-config', '--user', me, '--identity-file', userKey, '--port', String(port), '--known-hosts', knownHosts, '--output', config], home);
    expect(sshConfig.code, sshConfig.stderr).toBe(0);
    expect(readFileSync(config, 'utf8')).toContain(`Host web\n  HostName ${IPV6}\n  HostKeyAlias ${web}\n`);
    expect(sshConfig.stderr).not.toContain('reachable only from inside');
    await requireConverted();
    const putty = await ec2ip(['putty', '--format', 'unix', '--user', me, '--key', join(dir, 'work.ppk'), '--port', String(port), '--output', puttyDir], home);
    expect(putty.code, putty.stderr).toBe(0);
    // PuTTY 0.78 takes a bare IPv6 address as HostName (and a bracketed one: checked with plink).
    expect(readFileSync(join(puttyDir, 'sessions', unixName('ec2ip-web')), 'utf8')).toContain(`HostName=${IPV6}\n`);

    await instance(IPV6);
    const connected = await Promise.all([ssh(config, home), plink(puttyDir, home)]);
    expect(connected.map((r) => r.code), connected.map((r) => r.stderr).join('\n')).toEqual([0, 0]);

    // --prefer ipv4 has no public IPv4 to prefer: the private one comes last, with a note.
    await aws.ssm.send(new DeleteParameterCommand({ Name: '/ec2ip/web/ipv6' }));
    const privateOnly = await ec2ip(['ssh-config', '--prefer', 'ipv4'], home);
    expect(privateOnly.code, privateOnly.stderr).toBe(0);
    expect(privateOnly.stdout).toContain('HostName 172.31.5.20\n');
    expect(privateOnly.stderr).toBe(`note: web (${web}) has no hostname, public IPv4 or IPv6 published; its private IP 172.31.5.20 is reachable only from inside its network (VPC, VPN, peering)\n`);
  });

  it('after a stop/start, whose console shows no keys, the keys the function recorded at first boot still verify ssh and plink', async () => {
    const home = tempDir();
    const config = join(home, 'ec2ip.conf');
    const knownHosts = join(home, 'known_hosts');
    const puttyDir = join(home, 'putty');
    const me = userInfo().username;

    // First boot: the built function's scheduled reconcile records what the console shows.
    const saved = process.env.AWS_ENDPOINT_URL;
    try {
      const handler = await loadHandler({ AWS_ENDPOINT_URL: proxy.url, PARAMETER_PREFIX: '/ec2ip', HOSTED_ZONE_ID: undefined, PRIVATE_HOSTED_ZONE_ID: undefined });
      const first = await captureStdout(() => handler(scheduledEvent()));
      expect(first.result).toEqual({ status: 'done', items: 1 });
      expect(first.lines.filter((l) => l.message === 'host keys recorded')).toHaveLength(1);
    } finally {
      process.env.AWS_ENDPOINT_URL = saved;
    }

    // Stop/start: moto's own console output from now on (no KEYS block), a new address published.
    await stopInstances([web]);
    await startInstances([web]);
    consoleKeys = undefined;
    await putParameter('/ec2ip/web/public-ip', AFTER);
    const listed = await ec2ip(['known-hosts'], home);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toBe(hostKeys.map((k) => `${web} ${k} ec2ip:web\n`).join(''));
    const sshConfig = await ec2ip(['ssh-config', '--user', me, '--identity-file', userKey, '--port', String(port), '--known-hosts', knownHosts, '--output', config], home);
    expect(sshConfig.code, sshConfig.stderr).toBe(0);
    expect(sshConfig.stderr).toContain(`host keys of web (${web}) from /ec2ip/web/host-keys (read from its console at first boot`);
    expect(sshConfig.stderr).toContain(`recorded 3 host keys of web (${web})`);
    const putty = await ec2ip(['putty', '--format', 'unix', '--user', me, '--convert-key', userKey, '--port', String(port), '--output', puttyDir], home);
    expect(putty.code, putty.stderr).toBe(0);
    expect(readFileSync(join(puttyDir, 'sshhostkeys'), 'utf8').split('\n').filter((l) => l.includes(`@22:${web} `))).toHaveLength(3);

    await instance(AFTER);
    const after = await Promise.all([ssh(config, home), plink(puttyDir, home)]);
    expect(after.map((r) => r.code), after.map((r) => r.stderr).join('\n')).toEqual([0, 0]);
  });

  it('the .reg file, imported into PuTTY\'s registry layout, connects plink and refuses another host key', async () => {
    const home = tempDir();
    const regFile = join(home, 'ec2ip.reg');
    const ran = await ec2ip(['putty', '--format', 'reg', '--user', userInfo().username, '--port', String(port), '--output', regFile], home);
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stderr).toContain('reg import ec2ip.reg');
    const reg = parseReg(readFileSync(regFile));
    const session = reg.keys['HKEY_CURRENT_USER\\Software\\SimonTatham\\PuTTY\\Sessions\\ec2ip-web'];
    expect(session).toMatchObject({ HostName: { type: 'REG_SZ', data: BEFORE }, LogHost: { type: 'REG_SZ', data: web }, PortNumber: { type: 'REG_DWORD', data: port } });
    for (const [name, value] of Object.entries(session ?? {})) expect([name, value.type]).toEqual([name, PUTTY_SETTING_TYPES[name]]);
    expect(Object.keys(reg.keys['HKEY_CURRENT_USER\\Software\\SimonTatham\\PuTTY\\SshHostKeys'] ?? {})).toHaveLength(3);

    const puttyDir = join(home, 'imported');
    regToPuttyDir(reg, puttyDir, (name) => unixName(decodeURIComponent(name)));
    await requireConverted();
    const forWindows = await ec2ip(['putty', '--format', 'reg', '--convert-key', userKey, '--skip-host-keys'], home);
    expect(forWindows.code, forWindows.stderr).toBe(0);
    expect(forWindows.stderr).toContain(`copy ${join(dir, 'work.ppk')} to the Windows PC and re-run with --key <its path there>`);
    await instance(BEFORE);
    expect((await plink(puttyDir, home, ['-i', join(dir, 'work.ppk')])).code).toBe(0);
    await stopAll();
    await instance(BEFORE, [impostorKey]);
    const refused = await plink(puttyDir, home, ['-i', join(dir, 'work.ppk')]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/host key/i);
  });

  /** The user's key as .ppk, converted by ec2ip itself. */
  async function requireConverted(): Promise<void> {
    if (existsSync(join(dir, 'work.ppk'))) return;
    const ran = await ec2ip(['putty', '--format', 'unix', '--convert-key', userKey, '--skip-host-keys', '--output', join(tempDir(), 'p')]);
    expect(ran.code, ran.stderr).toBe(0);
  }

  it('reports an instance whose console shows no host keys yet and writes nothing for it', async () => {
    consoleKeys = undefined; // moto's own console output: a kernel log without cloud-init's block
    const home = tempDir();
    const knownHosts = join(home, 'known_hosts');
    const ran = await ec2ip(['known-hosts', '--output', knownHosts], home);
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stderr).toContain(`no verified host keys for web (${web}): its console output shows no "BEGIN SSH HOST KEY KEYS" block`);
    expect(existsSync(knownHosts)).toBe(false);
  });

  it('reports a changed host key loudly, keeps the recorded one, and replaces it only with --replace', async () => {
    const home = tempDir();
    const knownHosts = join(home, 'known_hosts');
    const impostorPub = readFileSync(`${impostorKey}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    const recorded = `github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n${web} ${impostorPub}\n`;
    writeFileSync(knownHosts, recorded);

    const kept = await ec2ip(['known-hosts', '--output', knownHosts], home);
    expect(kept.code).toBe(1);
    expect(kept.stderr).toContain(`WARNING: HOST KEY CHANGED for web (${web})`);
    expect(readFileSync(knownHosts, 'utf8')).toBe(recorded);

    const replaced = await ec2ip(['known-hosts', '--output', knownHosts, '--replace'], home);
    expect(replaced.code, replaced.stderr).toBe(0);
    const now = readFileSync(knownHosts, 'utf8');
    expect(now.startsWith('github.com ')).toBe(true);
    expect(now).not.toContain(impostorPub.split(' ')[1]);
    for (const k of hostKeys) expect(now).toContain(`${web} ${k} ec2ip:web\n`);

    // The same rule in PuTTY's cache.
    const puttyDir = join(home, 'putty');
    expect((await ec2ip(['putty', '--format', 'unix', '--port', String(port), '--output', puttyDir], home)).code).toBe(0);
    const cache = readFileSync(join(puttyDir, 'sshhostkeys'), 'utf8');
    const tampered = cache.replace(/(ssh-ed25519@\d+:i-[0-9a-f]+ 0x)[0-9a-f]/, '$1f');
    writeFileSync(join(puttyDir, 'sshhostkeys'), tampered);
    const puttyKept = await ec2ip(['putty', '--format', 'unix', '--port', String(port), '--output', puttyDir], home);
    expect(puttyKept.code).toBe(1);
    expect(puttyKept.stderr).toContain('WARNING: HOST KEY CHANGED for web');
    expect(readFileSync(join(puttyDir, 'sshhostkeys'), 'utf8')).toBe(tampered);
  });

  it('refuses with exit 2 and writes nothing when PuTTY cannot hold a session name or the .reg file is not ec2ip\'s', async () => {
    const home = tempDir();
    const long = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
    await Promise.all([putParameter(`/ec2ip/${long}/instance-id`, web), putParameter(`/ec2ip/${long}/public-ip`, BEFORE)]);
    const puttyDir = join(home, 'putty');
    const ran = await ec2ip(['putty', '--format', 'unix', '--output', puttyDir], home);
    expect(ran.code).toBe(2);
    expect(ran.stderr).toContain(`PuTTY cannot hold these sessions (shorten --session-prefix or the ec2ip:name tag): ec2ip-${long}: PuTTY stores the session under a name of 259 characters; the limit is 255`);
    expect(existsSync(puttyDir)).toBe(false);

    const foreign = join(home, 'mine.reg');
    writeFileSync(foreign, 'Windows Registry Editor Version 5.00\r\n\r\n[HKEY_CURRENT_USER\\Software\\Mine]\r\n');
    const refused = await ec2ip(['putty', '--format', 'reg', '--session-prefix', 'x', '--output', foreign], home);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('exists and was not written by ec2ip; not replacing it');
    expect(readFileSync(foreign, 'utf8')).toContain('Mine');
  });

  it('ssh -G and a VS Code-style parse resolve the generated host through an Include at the top', async () => {
    const home = tempDir();
    const config = join(home, 'ec2ip.conf');
    const knownHosts = join(home, 'known_hosts');
    expect((await ec2ip(['ssh-config', '--user', 'ec2-user', '--port', String(port), '--known-hosts', knownHosts, '--output', config], home)).code).toBe(0);
    const main = join(home, 'config');
    writeFileSync(main, `Include ${config}\n\nHost bastion\n  HostName 192.0.2.10\n  User admin\n`);

    const g = await client(tools.ssh as string, ['-G', '-F', main, 'web'], clientEnv(home));
    expect(g.code, g.stderr).toBe(0);
    const resolved = Object.fromEntries(g.stdout.split('\n').map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)]));
    expect(resolved).toMatchObject({ hostname: BEFORE, hostkeyalias: web, port: String(port), user: 'ec2-user', userknownhostsfile: knownHosts });

    // What VS Code Remote-SSH does: read the config, follow its Includes, list the hosts, resolve one.
    const parsed = SSHConfig.parse(readFileSync(main, 'utf8'));
    const hosts: string[] = [];
    let webSettings: Record<string, string | string[]> | undefined;
    for (const line of parsed) {
      if (line.type !== SSHConfig.DIRECTIVE) continue;
      if (line.param === 'Include') {
        const included = SSHConfig.parse(readFileSync(String(line.value), 'utf8'));
        for (const l of included) if (l.type === SSHConfig.DIRECTIVE && l.param === 'Host') hosts.push(String(l.value));
        webSettings = included.compute('web');
      } else if (line.param === 'Host') {
        hosts.push(String(line.value));
      }
    }
    expect(hosts).toEqual(['web', 'bastion']);
    expect(webSettings).toMatchObject({ HostName: BEFORE, HostKeyAlias: web, Port: String(port), User: 'ec2-user' });
  });
});
