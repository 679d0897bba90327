/**
 * Connecting on demand, end to end with real programs: OpenSSH's sshd as the instance on
 * 127.0.0.x, moto as AWS (through the test proxy, which counts StartInstances and answers
 * GetConsoleOutput), the built CLI as ProxyCommand / PuTTY local proxy, and real ssh, scp and
 * plink. The test plays the Lambda: after a start it publishes the new address a moment later
 * and brings sshd up a little after that. The address from before the stop stays published
 * (as with ON_STOP=keep) and is served by another sshd with another host key, which must never
 * see a connection.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { unixName } from '../../scripts/cli/putty-sessions.js';
import { countCalls, startProxy, type AwsProxy } from '../support/aws-proxy.js';
import { publish, runBuilt, runCommand, tempDir, CLI_BUNDLE, type Ran } from '../support/cli.js';
import { consoleAnswer, consoleWith } from '../support/aws-answers.js';
import { cleanEnv } from '../support/installed.js';
import { createZone, describe as describeInstance, putParameter, runInstance, stopInstances, terminateInstances, useMoto } from '../support/moto.js';
import { useIamAudit, USER_ACCESS_KEY, USER_POLICIES } from '../support/iam-audit.js';
import { freePort, keygen, startSshd, type Sshd } from '../support/sshd.js';
import { writeStandInAws } from '../support/stand-in-aws.js';
import { requireTool } from '../support/tools.js';

const ONE = '127.0.0.5';
const TWO = '127.0.0.6';
const GRACE_ENV = 'EC2IP_TEST_ONLY_PUBLISH_GRACE_MS';

describe('connecting on demand through ec2ip proxy, with real sshd, ssh, scp and plink', () => {
  const aws = useMoto();
  // The person's calls (the CLI, and ec2ip proxy under ssh) against the policies docs/connecting.md quotes; the test's own are not theirs.
  const audit = useIamAudit('cli', { accessKeyId: USER_ACCESS_KEY, policies: [USER_POLICIES.read, USER_POLICIES.connect] });
  const tools: Record<string, string> = {};
  let dir: string;
  let port: number;
  let hostKeys: string[];
  let realKeys: string[];
  let impostorKey: string;
  let userKey: string;
  let proxy: AwsProxy;
  let web: string;
  const servers: Sshd[] = [];
  const me = userInfo().username;

  beforeAll(async () => {
    for (const tool of ['sshd', 'ssh', 'scp', 'ssh-keygen', 'plink', 'puttygen']) tools[tool] = requireTool(tool);
    dir = tempDir();
    port = await freePort([ONE, TWO]);
    realKeys = [join(dir, 'host_ed25519'), join(dir, 'host_ecdsa')];
    hostKeys = (await Promise.all([keygen(realKeys[0] as string, 'ed25519'), keygen(realKeys[1] as string, 'ecdsa')])).map((l) => l.split(' ').slice(0, 2).join(' '));
    impostorKey = join(dir, 'impostor_ed25519');
    await keygen(impostorKey, 'ed25519');
    userKey = join(dir, 'work.pem');
    writeFileSync(join(dir, 'authorized_keys'), await keygen(userKey, 'ed25519'));
  });

  beforeEach(async () => {
    web = await runInstance({ tags: { 'ec2ip:name': 'web' } });
    await Promise.all([putParameter('/ec2ip/web/instance-id', web), putParameter('/ec2ip/web/public-ip', ONE), putParameter('/ec2ip/web/private-ip', TWO)]);
    proxy = await startProxy({
      ...audit.hooks,
      target: aws.endpoint,
      respond: ({ service, action, body }) =>
        service === 'ec2' && action === 'GetConsoleOutput' ? consoleAnswer(new URLSearchParams(body).get('InstanceId') ?? '', consoleWith(hostKeys)) : undefined,
    });
  });

  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()));
    await proxy.stop();
  });

  /** The environment of a user's shell: the AWS settings (moto through the proxy) and a home of its own. */
  const userEnv = (home: string, extra: Record<string, string> = {}) =>
    cleanEnv({ HOME: home, AWS_ENDPOINT_URL: proxy.url, AWS_ACCESS_KEY_ID: USER_ACCESS_KEY, AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1', ...extra });
  const ec2ip = (args: string[], home: string, extra: Record<string, string> = {}) => runBuilt(args, userEnv(home, extra), 120_000);
  const sshd = async (address: string, keys = realKeys) => {
    const server = await startSshd({ dir, address, port, hostKeys: keys, authorizedKeys: join(dir, 'authorized_keys'), extraOptions: ['LogLevel=VERBOSE'] });
    servers.push(server);
    return server;
  };
  /** The TCP connections sshd logged (at VERBOSE, "Connection from …"); startSshd's readiness probe is one of them. */
  const connections = (server: Sshd) => readFileSync(server.log, 'utf8').split('\n').filter((l) => l.includes('Connection from'));
  const ssh = (config: string, home: string, command: string[] = ['true'], extra: Record<string, string> = {}) =>
    runCommand(tools.ssh as string, ['-F', config, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', 'IdentitiesOnly=yes', 'web', ...command], userEnv(home, extra), 120_000);
  const startCalls = () => countCalls(proxy.requests)['ec2:StartInstances'] ?? 0;
  const until = async (what: string, check: () => boolean, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  /** Plays the Lambda and the boot after a start: the new address a moment later, sshd a little after that. */
  const bootAfterStart = async (address: string) => {
    await until('StartInstances', () => startCalls() > 0);
    await new Promise((r) => setTimeout(r, 700));
    await putParameter('/ec2ip/web/public-ip', address);
    await new Promise((r) => setTimeout(r, 1500));
    return sshd(address);
  };
  const proxyLines = (r: Ran) => r.stderr.split('\n').filter((l) => l.startsWith('web: '));

  it('a running instance: ssh through the generated ProxyCommand connects with an unresolvable HostName, and scp moves 20 MB byte for byte', async () => {
    const zone = await createZone('example.com');
    await publish({ publicZone: zone }, [web]);
    // The Lambda published moto's address; the instance is really the sshd on ONE.
    await putParameter('/ec2ip/web/public-ip', ONE);
    const home = tempDir();
    const config = join(home, 'ec2ip.conf');
    const knownHosts = join(home, 'known_hosts');
    const made = await ec2ip(['ssh-config', '--proxy', '--user', me, '--identity-file', userKey, '--port', String(port), '--known-hosts', knownHosts, '--output', config], home, { HOSTED_ZONE_ID: zone });
    expect(made.code, made.stderr).toBe(0);
    const text = readFileSync(config, 'utf8');
    expect(text).toContain('  HostName web.example.com\n');
    expect(text).toContain(`  HostKeyAlias ${web}\n`);
    expect(text).toContain(`  ProxyCommand ${process.execPath} ${CLI_BUNDLE} proxy %n %p --region us-east-1 --prefix /ec2ip\n`);
    const recorded = readFileSync(knownHosts, 'utf8');
    expect(recorded.split('\n').filter((l) => l.startsWith(`${web} `))).toHaveLength(2);

    await sshd(ONE);
    const ran = await ssh(config, home, ['echo', 'on-the-instance']);
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stdout).toBe('on-the-instance\n');
    // A running instance connects without a word on stderr.
    expect(proxyLines(ran)).toEqual([]);
    expect(readFileSync(knownHosts, 'utf8')).toBe(recorded);

    const file = join(home, 'big.bin');
    const bytes = randomBytes(20 * 1024 * 1024);
    writeFileSync(file, bytes);
    const remote = join(tempDir(), 'copied.bin');
    const scpEnv = userEnv(home);
    const scpArgs = ['-O', '-F', config, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', 'IdentitiesOnly=yes'];
    const up = await runCommand(tools.scp as string, [...scpArgs, file, `web:${remote}`], scpEnv, 120_000);
    expect(up.code, up.stderr).toBe(0);
    const back = join(home, 'back.bin');
    const down = await runCommand(tools.scp as string, [...scpArgs, `web:${remote}`, back], scpEnv, 120_000);
    expect(down.code, down.stderr).toBe(0);
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    expect(readFileSync(remote).length).toBe(bytes.length);
    expect(sha(readFileSync(remote))).toBe(sha(bytes));
    expect(sha(readFileSync(back))).toBe(sha(bytes));
  });

  it('a stopped instance with --start: one StartInstances, only the address published after it, for ssh and then plink; the pre-stop address is never reached', async () => {
    const home = tempDir();
    const config = join(home, 'ec2ip.conf');
    const knownHosts = join(home, 'known_hosts');
    const puttyDir = join(home, 'putty');
    const made = await ec2ip(['ssh-config', '--proxy', '--start', '--wait', '90', '--user', me, '--identity-file', userKey, '--port', String(port), '--known-hosts', knownHosts, '--output', config], home);
    expect(made.code, made.stderr).toBe(0);
    expect(readFileSync(config, 'utf8')).toContain(' proxy %n %p --start --wait 90 --region us-east-1 --prefix /ec2ip\n');
    const putty = await ec2ip(['putty', '--format', 'unix', '--proxy', '--start', '--wait', '90', '--user', me, '--convert-key', userKey, '--port', String(port), '--output', puttyDir], home);
    expect(putty.code, putty.stderr).toBe(0);
    const session = readFileSync(join(puttyDir, 'sessions', unixName('ec2ip-web')), 'utf8');
    expect(session).toContain('\nHostName=web\n'.slice(1));
    expect(session).toContain('ProxyMethod=5\n');
    expect(session).toContain(`ProxyTelnetCommand=${process.execPath} ${CLI_BUNDLE} proxy %host %port --start --wait 90 --region us-east-1 --prefix /ec2ip\n`);
    const recordedKnownHosts = readFileSync(knownHosts, 'utf8');
    const recordedPutty = readFileSync(join(puttyDir, 'sshhostkeys'), 'utf8');

    // Stopped, with the pre-stop address still published (ON_STOP=keep) and answered by an impostor.
    await stopInstances([web]);
    const impostor = await sshd(ONE, [impostorKey]);
    proxy.requests.length = 0;
    const connecting = ssh(config, home);
    const [ran] = await Promise.all([connecting, bootAfterStart(TWO)]);
    expect(ran.code, ran.stderr).toBe(0);
    expect(startCalls()).toBe(1);
    expect((await describeInstance(web)).State?.Name).toBe('running');
    expect(connections(impostor), 'only the readiness probe').toHaveLength(1);
    expect(ran.stderr).not.toContain(ONE);
    const lines = proxyLines(ran);
    expect(lines[0]).toBe(`web: starting ${web}`);
    expect(lines).toContain('web: running; waiting for its new address to be published');
    expect(lines).toContain(`web: running at ${TWO}, waiting for port ${port}`);
    expect(lines.at(-1)).toMatch(/^web: connected after \d+ s$/);
    // One line per phase, never one per retry.
    expect(new Set(lines).size).toBe(lines.length);
    expect(lines).toHaveLength(4);
    expect(readFileSync(knownHosts, 'utf8')).toBe(recordedKnownHosts);

    // Again with plink: stopped once more, now TWO is the stale address and ONE the new one.
    await Promise.all(servers.splice(0).map((s) => s.stop()));
    await stopInstances([web]);
    const impostor2 = await sshd(TWO, [impostorKey]);
    proxy.requests.length = 0;
    const plink = runCommand(tools.plink as string, ['-batch', '-load', 'ec2ip-web', 'true'], userEnv(home, { PUTTYDIR: puttyDir }), 120_000);
    const [plinked] = await Promise.all([plink, bootAfterStart(ONE)]);
    expect(plinked.code, plinked.stderr).toBe(0);
    expect(startCalls()).toBe(1);
    expect(connections(impostor2), 'only the readiness probe').toHaveLength(1);
    expect(readFileSync(join(puttyDir, 'sshhostkeys'), 'utf8')).toBe(recordedPutty);
  });

  it('says what is wrong, in a line that reads well inside ssh\'s output, with exit 1: stopped without --start, terminated, unknown, --wait expiring', async () => {
    const home = tempDir();
    await stopInstances([web]);
    const stopped = await ec2ip(['proxy', 'web', '22'], home);
    expect([stopped.code, stopped.stderr]).toEqual([1, `ec2ip proxy: web (${web}) is stopped: run "ec2ip start web", or connect with --start\n`]);
    expect(startCalls()).toBe(0);

    // As ssh shows it: the proxy's line, then ssh's own.
    const config = join(home, 'ec2ip.conf');
    expect((await ec2ip(['ssh-config', '--proxy', '--port', String(port), '--output', config], home)).code).toBe(0);
    const viaSsh = await ssh(config, home);
    expect(viaSsh.code).toBe(255);
    expect(viaSsh.stderr).toContain(`ec2ip proxy: web (${web}) is stopped: run "ec2ip start web", or connect with --start\n`);

    const waited = await ec2ip(['proxy', 'web', String(port), '--start', '--wait', '3'], home);
    expect(waited.code).toBe(1);
    expect(startCalls()).toBe(1);
    expect(waited.stderr).toBe(
      `web: starting ${web}\nweb: running; waiting for its new address to be published\n` +
        `ec2ip proxy: web (${web}) is running but no new address was published within 3 s: raise --wait, or see "ec2ip plan"\n`,
    );

    const unknown = await ec2ip(['proxy', 'api', '22'], home);
    expect([unknown.code, unknown.stderr]).toEqual([1, 'ec2ip proxy: no instance named api is published under /ec2ip in us-east-1 (tag it ec2ip:name=api, or check --prefix, --region and --profile)\n']);

    await terminateInstances([web]);
    const terminated = await ec2ip(['proxy', 'web', '22', '--start'], home);
    expect([terminated.code, terminated.stderr]).toEqual([1, `ec2ip proxy: web (${web}) is terminated: nothing to connect to (tag another instance ec2ip:name=web to reuse the name)\n`]);

    const bad = await ec2ip(['proxy', 'web', '0'], home);
    expect([bad.code, bad.stderr]).toEqual([2, 'ec2ip proxy: PORT "0" is not a port: give a number from 1 to 65535\n']);
  });

  it('falls back to the address EC2 reports when nothing is published in time, and names the stack', async () => {
    const home = tempDir();
    await stopInstances([web]);
    const ran = await ec2ip(['proxy', 'web', String(port), '--start', '--wait', '4'], home, { [GRACE_ENV]: '1000' });
    const ec2Address = (await describeInstance(web)).PublicIpAddress;
    expect(ec2Address).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(ec2Address).not.toBe(ONE);
    expect(ran.code).toBe(1);
    expect(ran.stderr).toContain(
      `web: warning: no new address was published for ${web} within 1 s of it running; using the one EC2 reports. ` +
        'The ec2ip function of stack ec2ip seems not to publish: "ec2ip plan --stack-name ec2ip" shows why\n',
    );
    expect(ran.stderr).toContain(`web: running at ${ec2Address}, waiting for port ${port}\n`);
  });

  it('ec2ip start --wait, ec2ip ssh web -- true, ec2ip stop --wait', async () => {
    const home = tempDir();
    const knownHosts = join(home, 'known_hosts');
    await stopInstances([web]);
    proxy.requests.length = 0;
    const [started] = await Promise.all([ec2ip(['start', 'web', '--wait', '--port', String(port)], home), bootAfterStart(TWO)]);
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout).toBe(`${TWO}\n`);
    expect(startCalls()).toBe(1);
    expect(started.stderr).toContain(`web: running at ${TWO}, waiting for port ${port}\n`);

    const ran = await ec2ip(['ssh', 'web', '--user', me, '--identity-file', userKey, '--port', String(port), '--known-hosts', knownHosts, '--', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', 'IdentitiesOnly=yes', 'echo', 'hi'], home);
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stdout).toBe('hi\n');
    expect(ran.stderr).toContain(`recorded 2 host keys of web (${web})`);
    const recorded = readFileSync(knownHosts, 'utf8');
    expect(recorded.split('\n').filter((l) => l.startsWith(`${web} `))).toHaveLength(2);
    // ssh's own status comes back.
    const failing = await ec2ip(['ssh', 'web', '--user', me, '--identity-file', userKey, '--port', String(port), '--known-hosts', knownHosts, '--', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', 'exit', '7'], home);
    expect(failing.code).toBe(7);
    expect(readFileSync(knownHosts, 'utf8')).toBe(recorded);

    const stopped = await ec2ip(['stop', 'web', '--wait'], home);
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(stopped.stderr).toMatch(new RegExp(`^web: stopping ${web}\\nweb: stopped after \\d+ s\\n$`));
    expect((await describeInstance(web)).State?.Name).toBe('stopped');
    const again = await ec2ip(['stop', 'web'], home);
    expect([again.code, again.stderr]).toEqual([0, `web: ${web} is already stopped\n`]);
  });

  it('--via ssm and --via eice run AWS\'s documented tunnel commands (a stand-in aws relays to sshd) and say what is missing', async () => {
    const home = tempDir();
    const bin = writeStandInAws(join(home, 'bin'));
    const log = join(home, 'aws-argv.log');
    const env = { PATH: `${bin}:${cleanEnv().PATH as string}`, STAND_IN_LOG: log, STAND_IN_TARGET: TWO };
    await sshd(TWO);
    for (const via of ['ssm', 'eice'] as const) {
      const config = join(home, `${via}.conf`);
      const made = await ec2ip(['ssh-config', '--proxy', '--via', via, '--user', me, '--identity-file', userKey, '--port', String(port), '--known-hosts', join(home, 'known_hosts'), '--output', config], home);
      expect(made.code, made.stderr).toBe(0);
      const ran = await ssh(config, home, ['true'], env);
      expect(ran.code, ran.stderr).toBe(0);
    }
    const argv = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as string[]);
    expect(argv).toEqual([
      ['ssm', 'start-session', '--target', web, '--document-name', 'AWS-StartSSHSession', '--parameters', `portNumber=${port}`, '--region', 'us-east-1'],
      ['ec2-instance-connect', 'open-tunnel', '--instance-id', web, '--remote-port', String(port), '--region', 'us-east-1'],
    ]);

    const noPlugin = writeStandInAws(join(home, 'bin-no-plugin'), { plugin: false });
    const missing = await ec2ip(['proxy', 'web', '22', '--via', 'ssm'], home, { PATH: `${noPlugin}:${cleanEnv().PATH as string}` });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('--via ssm needs the Session Manager plugin for the AWS CLI, and "session-manager-plugin" is not on PATH: install it');
    const noAws = await ec2ip(['proxy', 'web', '22', '--via', 'eice'], home, { PATH: '/nonexistent' });
    expect(noAws.code).toBe(1);
    expect(noAws.stderr).toContain('--via eice runs the AWS CLI, and "aws" is not on PATH: install AWS CLI v2');
  });

  it('ec2ip code opens VS Code Remote-SSH on the host, and says how to get "code" when it is missing', async () => {
    const home = tempDir();
    const bin = join(home, 'bin');
    const log = join(home, 'code-argv.log');
    mkdirSync(bin);
    writeFileSync(join(bin, 'code'), `#!/bin/sh\nprintf '%s\\n' "$@" > '${log}'\n`);
    chmodSync(join(bin, 'code'), 0o755);
    const ran = await ec2ip(['code', 'web', '/home/ec2-user/project'], home, { PATH: `${bin}:${cleanEnv().PATH as string}` });
    expect(ran.code, ran.stderr).toBe(0);
    expect(readFileSync(log, 'utf8')).toBe('--remote\nssh-remote+web\n/home/ec2-user/project\n');
    const missing = await ec2ip(['code', 'web'], home, { PATH: '/nonexistent' });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('"code" is not on PATH');
  });
});
