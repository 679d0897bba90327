/**
 * `ec2ip get`, `list` and `ssh-config` against moto, on what the built Lambda published; the
 * CLI's calls are held to the read policy (infra/user-policy.json) by the IAM audit.
 */
import { execFile } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeEach, describe, expect, it } from 'vitest';
import { countCalls, startProxy } from '../support/aws-proxy.js';
import { createZone, describe as describeInstance, putParameter, putRecord, runInstance, stopInstances, useMoto } from '../support/moto.js';
import { cliAs, publish, tempDir } from '../support/cli.js';
import { useIamAudit, USER_ACCESS_KEY, USER_POLICIES } from '../support/iam-audit.js';
import { requireTool } from '../support/tools.js';

describe('ec2ip get, list and ssh-config', () => {
  const aws = useMoto();
  // The person's calls only: the Lambda publishing is its role's, audited in its own tests.
  const audit = useIamAudit('cli', { accessKeyId: USER_ACCESS_KEY, policies: [USER_POLICIES.read] });
  const cli = (args: string[], env?: Record<string, string>, cwd?: string) => cliAs(USER_ACCESS_KEY, args, env, cwd);
  let publicZone: string;
  let privateZone: string;
  let web: string;
  let db: string;
  let env: Record<string, string>;

  beforeEach(async () => {
    [publicZone, privateZone] = await Promise.all([createZone('example.com'), createZone('internal.example', { private: true })]);
    [web, db] = await Promise.all([runInstance({ tags: { 'ec2ip:name': 'web' } }), runInstance({ tags: { 'ec2ip:name': 'db' } })]);
    await publish({ publicZone, privateZone }, [web, db]);
    env = { HOSTED_ZONE_ID: publicZone, PRIVATE_HOSTED_ZONE_ID: privateZone };
  });

  describe('get', () => {
    it('prints the public IP and nothing else', async () => {
      const { PublicIpAddress } = await describeInstance(web);
      expect(await cli(['get', 'web'])).toEqual({ code: 0, stdout: `${PublicIpAddress}\n`, stderr: '' });
    });

    it('prints the field asked for, and takes the name in any case', async () => {
      const { PrivateIpAddress } = await describeInstance(web);
      expect((await cli(['get', 'Web', '--field', 'private-ip'])).stdout).toBe(`${PrivateIpAddress}\n`);
      expect((await cli(['get', 'web', '--field', 'instance-id'])).stdout).toBe(`${web}\n`);
    });

    it('exits 1 with a message for an unknown name', async () => {
      const ran = await cli(['get', 'nope']);
      expect(ran.code).toBe(1);
      expect(ran.stdout).toBe('');
      expect(ran.stderr).toMatch(/^ec2ip get: no instance named nope is published under \/ec2ip/);
    });

    it('exits 1 saying the instance is stopped when it has no public IP', async () => {
      await stopInstances([web]);
      await publish({ publicZone, privateZone }, [web], 'stopped');
      const ran = await cli(['get', 'web']);
      expect(ran).toMatchObject({ code: 1, stdout: '' });
      expect(ran.stderr).toContain(`web (${web}) has no public-ip now: it is stopped`);
    });

    it('reads under the prefix given', async () => {
      await putParameter('/other/web/public-ip', '198.51.100.7');
      // docs/scripts.md: with another prefix the person puts it in the policy.
      audit.edit({ 'parameter/ec2ip': 'parameter/other' });
      expect(await cli(['get', 'web', '--prefix', '/other'])).toEqual({ code: 0, stdout: '198.51.100.7\n', stderr: '' });
      const ran = await cli(['get', 'db', '--prefix', '/other']);
      expect(ran).toMatchObject({ code: 1, stdout: '' });
      expect(ran.stderr).toContain('no instance named db is published under /other');
    });

    it('makes one GetParameter call and nothing else when the prefix is given', async () => {
      const proxy = await startProxy({ ...audit.hooks, target: aws.endpoint });
      // The SDK reads its endpoint from the process environment (the audit's proxy, restored after).
      const saved = process.env.AWS_ENDPOINT_URL;
      process.env.AWS_ENDPOINT_URL = proxy.url;
      try {
        const ran = await cli(['get', 'web', '--prefix', '/ec2ip']);
        expect(ran.code).toBe(0);
        expect(countCalls(proxy.requests)).toEqual({ 'ssm:GetParameter': 1 });
        expect(audit.pending.map((c) => c.action)).toEqual(['GetParameter']);
      } finally {
        process.env.AWS_ENDPOINT_URL = saved;
        await proxy.stop();
      }
    });

    it('gives the same value as the plain AWS CLI', async () => {
      // Whichever AWS CLI the machine has (v1 or v2): both take --endpoint-url.
      const { stdout } = await promisify(execFile)(
        requireTool('aws'),
        ['ssm', 'get-parameter', '--name', '/ec2ip/web/public-ip', '--query', 'Parameter.Value', '--output', 'text', '--endpoint-url', String(process.env.AWS_ENDPOINT_URL), '--region', 'us-east-1'],
        // As the person, through the audit's proxy: a script's read is held to the read policy too.
        { env: { PATH: process.env.PATH, HOME: tempDir(), AWS_ACCESS_KEY_ID: USER_ACCESS_KEY, AWS_SECRET_ACCESS_KEY: 'test', AWS_PAGER: '' } },
      );
      expect(audit.pending.filter((c) => c.action === 'GetParameter').length, 'the aws CLI\'s GetParameter went through the audit').toBeGreaterThanOrEqual(1);
      expect(stdout).toBe((await cli(['get', 'web'])).stdout);
    });
  });

  describe('list', () => {
    it('prints an aligned table of every published instance', async () => {
      const [w, d] = await Promise.all([describeInstance(web), describeInstance(db)]);
      const ran = await cli(['list'], env);
      expect(ran.code).toBe(0);
      const lines = ran.stdout.trimEnd().split('\n');
      expect(lines).toHaveLength(3);
      expect(lines[0]).toMatch(/^NAME +INSTANCE +STATE +PUBLIC IP +PRIVATE IP +IPV6 +HOSTNAME +LAST CHANGE$/);
      // moto's instances have no IPv6 address.
      expect(lines[1]?.split(/ {2,}/).slice(0, 7)).toEqual(['db', db, 'running', d.PublicIpAddress, d.PrivateIpAddress, '-', 'db.example.com']);
      expect(lines[2]?.split(/ {2,}/).slice(0, 7)).toEqual(['web', web, 'running', w.PublicIpAddress, w.PrivateIpAddress, '-', 'web.example.com']);
      expect(lines[2]).toMatch(/ \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      for (const header of ['INSTANCE', 'STATE', 'IPV6', 'HOSTNAME']) {
        const column = lines[0]?.indexOf(header) ?? -1;
        expect(lines.slice(1).every((l) => l[column - 1] === ' ' && l[column] !== ' ')).toBe(true);
      }
    });

    it('prints JSON for scripts, with null for what is absent', async () => {
      await stopInstances([web]);
      await publish({ publicZone, privateZone }, [web], 'stopped');
      const w = await describeInstance(web);
      const ran = await cli(['list', '--json'], env);
      expect(ran.code).toBe(0);
      const entries = JSON.parse(ran.stdout) as Record<string, unknown>[];
      expect(entries.map((e) => e.name)).toEqual(['db', 'web']);
      expect(entries[1]).toEqual({
        name: 'web',
        instanceId: web,
        state: 'stopped',
        publicIp: null,
        privateIp: w.PrivateIpAddress,
        ipv6: null,
        hostname: 'web.example.com',
        privateHostname: 'web.internal.example',
        lastModified: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      });
    });

    it('shows the IPv6 address an instance published, in the table and in --json', async () => {
      await aws.ssm.send(new (await import('@aws-sdk/client-ssm')).PutParameterCommand({ Name: '/ec2ip/web/ipv6', Value: '2600:1f18:abcd::5', Type: 'String', Overwrite: true }));
      const table = (await cli(['list'], env)).stdout.trimEnd().split('\n');
      const column = table[0]?.indexOf('IPV6') ?? -1;
      expect(column).toBeGreaterThan(0);
      expect(table[2]?.slice(column).split(' ')[0]).toBe('2600:1f18:abcd::5');
      expect(table[1]?.slice(column).split(' ')[0]).toBe('-');
      const entries = JSON.parse((await cli(['list', '--json'], env)).stdout) as { name: string; ipv6: string | null }[];
      expect(entries.map((e) => [e.name, e.ipv6])).toEqual([['db', null], ['web', '2600:1f18:abcd::5']]);
    });

    it('shows no hostname in a zone where the name belongs to someone else', async () => {
      await putRecord(publicZone, { name: 'mail.example.com', type: 'A', values: ['203.0.113.25'] });
      const mail = await runInstance({ tags: { 'ec2ip:name': 'mail' } });
      await publish({ publicZone, privateZone }, [mail]);
      const entries = JSON.parse((await cli(['list', '--json'], env)).stdout) as { name: string; hostname: string | null }[];
      expect(entries.find((e) => e.name === 'mail')?.hostname).toBe('mail.internal.example');
    });

    it('shows "gone" for an instance EC2 no longer knows and no hostname without zones', async () => {
      await aws.ssm.send(new (await import('@aws-sdk/client-ssm')).PutParameterCommand({ Name: '/ec2ip/old/instance-id', Value: 'i-0123456789abcdef0', Type: 'String' }));
      const entries = JSON.parse((await cli(['list', '--json'])).stdout) as { name: string; state: string; hostname: string | null }[];
      expect(entries.find((e) => e.name === 'old')).toMatchObject({ state: 'gone', hostname: null });
      expect(entries.every((e) => e.hostname === null)).toBe(true);
    });
  });

  describe('ssh-config', () => {
    it('prints a Host block per instance with the stable hostname and HostKeyAlias', async () => {
      const ran = await cli(['ssh-config', '--user', 'ec2-user', '--identity-file', '~/.ssh/my key.pem'], env);
      expect(ran.code).toBe(0);
      expect(ran.stdout).toBe(
        '# Generated by ec2ip ssh-config.\n\n' +
          `Host db\n  HostName db.example.com\n  HostKeyAlias ${db}\n  User ec2-user\n  IdentityFile "~/.ssh/my key.pem"\n\n` +
          `Host web\n  HostName web.example.com\n  HostKeyAlias ${web}\n  User ec2-user\n  IdentityFile "~/.ssh/my key.pem"\n`,
      );
    });

    it('uses the current public IP when no zone is configured', async () => {
      const { PublicIpAddress } = await describeInstance(web);
      const ran = await cli(['ssh-config']);
      expect(ran.stdout).toContain(`Host web\n  HostName ${PublicIpAddress}\n  HostKeyAlias ${web}\n`);
    });

    it('owns the --output file: 0600, rewritten only when the hosts change, and prints the Include line', async () => {
      const dir = tempDir();
      const file = join(dir, 'ssh', 'ec2ip.conf');
      const first = await cli(['ssh-config', '--output', 'ssh/ec2ip.conf'], env, dir);
      expect(first.code).toBe(0);
      expect(first.stdout).toBe('');
      expect(first.stderr).toContain(`\nInclude ${file}\n`);
      const bytes = await readFile(file);
      const before = await stat(file);
      expect(before.mode & 0o777).toBe(0o600);
      expect(bytes.toString()).toMatch(/^# Managed by ec2ip/);
      expect(bytes.toString()).toContain(`Host web\n  HostName web.example.com\n  HostKeyAlias ${web}\n`);

      await new Promise((r) => setTimeout(r, 20));
      const second = await cli(['ssh-config', '--output', file], env);
      expect(second.code).toBe(0);
      expect(second.stderr).toContain('up to date');
      expect(await readFile(file)).toEqual(bytes);
      expect((await stat(file)).mtimeMs).toBe(before.mtimeMs);

      // A stop and start changes the IP, not the hostname: still nothing to write.
      await stopInstances([web]);
      await publish({ publicZone, privateZone }, [web], 'stopped');
      expect((await cli(['ssh-config', '--output', file], env)).stderr).toContain('up to date');

      const api = await runInstance({ tags: { 'ec2ip:name': 'api' } });
      await publish({ publicZone, privateZone }, [api]);
      expect((await cli(['ssh-config', '--output', file], env)).stderr).toContain(`wrote 3 hosts to ${file}`);
      expect(await readFile(file, 'utf8')).toContain(`Host api\n  HostName api.example.com\n  HostKeyAlias ${api}\n`);
    });

    it('refuses to replace a file it did not write', async () => {
      const file = join(tempDir(), 'config');
      await writeFile(file, 'Host personal\n  HostName 192.0.2.1\n');
      const ran = await cli(['ssh-config', '--output', file], env);
      expect(ran.code).toBe(2);
      expect(ran.stderr).toContain('was not written by ec2ip');
      expect(await readFile(file, 'utf8')).toBe('Host personal\n  HostName 192.0.2.1\n');
    });
  });
});
