/** The CLI without a network: help, usage errors, formatting, the owned file, and error mapping. */
import { execFileSync } from 'node:child_process';
import { readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { ChangeResourceRecordSetsCommand, ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { GetParametersByPathCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Plan } from '../../functions/core/plan.js';
import { explainAwsError } from '../../scripts/cli/aws-errors.js';
import type { Io } from '../../scripts/cli/io.js';
import { main } from '../../scripts/cli/main.js';
import { formatPlan, summarise } from '../../scripts/cli/plan-format.js';
import { readStates } from '../../scripts/cli/published.js';
import { formatTable } from '../../scripts/cli/table.js';
import { bracketed, chooseAddress } from '../../scripts/cli/ssh-targets.js';
import { writeFileIfChanged } from '../../scripts/cli/write-file.js';
import { renderHosts } from '../../scripts/commands/ssh-config.js';
import { tempFolder } from '../support/temp.js';

const ec2 = mockClient(EC2Client);
const route53 = mockClient(Route53Client);
const ssm = mockClient(SSMClient);
const cfn = mockClient(CloudFormationClient);

beforeEach(() => {
  ec2.reset();
  route53.reset();
  ssm.reset();
  cfn.reset();
});

async function run(args: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const io: Io = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: { AWS_REGION: 'us-east-1', ...env }, cwd: tmpdir() };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

function sdkError(name: string, message: string, status = 400) {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
}

describe('ec2ip --help', () => {
  it.each(['get', 'list', 'ssh-config', 'putty', 'known-hosts', 'plan', 'reconcile', 'demo'])('prints the literal help of %s and exits 0', async (command) => {
    const ran = await run([command, '--help']);
    expect(ran.code).toBe(0);
    expect(ran.stdout).toMatch(new RegExp(`^Usage: ec2ip ${command}\\b`));
    expect(ran.stderr).toBe('');
  });

  it('lists every command', async () => {
    const ran = await run(['--help']);
    expect(ran.code).toBe(0);
    for (const command of ['get', 'list', 'ssh-config', 'putty', 'known-hosts', 'plan', 'reconcile', 'demo']) expect(ran.stdout).toMatch(new RegExp(`^  ${command} +\\S`, 'm'));
  });
});

describe('usage errors exit 2 before any AWS call', () => {
  it.each([
    [['get'], 'give the instance name'],
    [['get', 'web', 'db'], 'unexpected argument "db"'],
    [['get', 'we_b'], 'the name "we_b" has the label'],
    [['get', 'web', '--field', 'mac'], '--field mac is not one of'],
    [['list', '--json=yes'], "Option '--json' does not take an argument"],
    [['ssh-config', '--user', 'a b'], '--user "a b" is not a user name'],
    [['ssh-config', '--output', ''], '--output needs a file name'],
    [['ssh-config', '--output', '~/.ssh/config'], '--output must not be ~/.ssh/config'],
    [['ssh-config', '--port', '0'], '--port "0" is not a port'],
    [['ssh-config', '--replace'], '--replace goes with --known-hosts FILE'],
    [['ssh-config', '--known-hosts', 'k', '--output', 'k'], '--known-hosts and --output must be two different files'],
    [['putty', '--format', 'xml'], '--format "xml" is not a PuTTY store: use reg'],
    [['putty', '--format', 'unix', '--key', '/nonexistent/work.ppk'], '--key /nonexistent/work.ppk cannot be read (ENOENT)'],
    [['putty', '--format', 'unix', '--convert-key', '/nonexistent/work.pem'], '--convert-key /nonexistent/work.pem cannot be read'],
    [['putty', '--format', 'reg', '--key', '/home/me/work.ppk'], 'give the .ppk\'s path there, e.g. C:\\Users'],
    [['putty', '--session-prefix', ''], '--session-prefix must not be empty'],
    [['putty', '--session-prefix', 'ec2ip\t'], 'cannot start a PuTTY session name: the session name holds a control character'],
    [['putty', '--user', 'me;rm'], '--user "me;rm" is not a user name'],
    [['known-hosts', '--output', ''], '--output needs a file name'],
    [['ssh-config', '--prefer', 'v6'], '--prefer "v6" is not an address family: use ipv4 or ipv6'],
    [['putty', '--prefer', 'IPv6'], '--prefer "IPv6" is not an address family'],
    [['known-hosts', '--output', 'k\nnext'], '--output "k\\nnext" holds a line break'],
    [['ssh-config', '--output', 'c\nProxyCommand x'], '--output "c\\nProxyCommand x" holds a line break'],
    [['ssh-config', '--output', 'c"x'], 'holds a double quote'],
    [['ssh-config', '--known-hosts', 'k\rx'], '--known-hosts "k\\rx" holds a line break'],
    [['ssh-config', '--identity-file', 'id\u001b[2Jx'], '--identity-file "id\\u001b[2Jx" holds a line break or another control character'],
    [['putty', '--output', 'p\nq'], '--output "p\\nq" holds a line break'],
    [['putty', '--key', 'k\n.ppk'], '--key "k\\n.ppk" holds a line break'],
    [['putty', '--convert-key', 'k\t.pem'], '--convert-key "k\\t.pem" holds a line break'],
    [['known-hosts', '--via', 'dns', 'web'], '--via "dns" is not a way to read host keys: the only one is --via ssm'],
    [['known-hosts', '--via', 'ssm'], '--via ssm needs the names of the instances to read'],
    [['known-hosts', 'web'], 'unexpected argument "web" (names go with --via ssm)'],
    [['plan', '--hosted-zone-id', 'not a zone'], '--hosted-zone-id / HOSTED_ZONE_ID="not a zone" is not a hosted zone id'],
    [['reconcile', '--hosted-zone-id', 'Z1', '--ttl', 'soon'], '--ttl / RECORD_TTL="soon" is not a TTL'],
    [['list', '--hosted-zone-id', 'Z1', '--prefix', 'ec2ip'], '--prefix / PARAMETER_PREFIX="ec2ip" is not a usable parameter path'],
    [['demo', '--region', 'eu-west-1'], 'takes no options'],
  ])('%j', async (args, message) => {
    const ran = await run(args);
    expect(ran.code).toBe(2);
    expect(ran.stdout).toBe('');
    expect(ran.stderr).toContain(message);
    expect(ec2.calls().length + route53.calls().length + ssm.calls().length + cfn.calls().length).toBe(0);
  });
});

describe('ec2ip putty key files', () => {
  const dir = tempFolder('putty');

  it.each([
    ['--key', 'work.pem', '-----BEGIN OPENSSH PRIVATE KEY-----\n', 'is an OpenSSH/PEM key; PuTTY needs a .ppk: use --convert-key'],
    ['--key', 'notes.txt', 'hello\n', 'is not a PuTTY private key (.ppk)'],
    ['--convert-key', 'work.ppk', 'PuTTY-User-Key-File-3: ssh-ed25519\n', 'is already a PuTTY .ppk key: pass it as --key'],
    ['--convert-key', 'notes2.txt', 'hello\n', 'is not an OpenSSH or PEM private key'],
  ])('%s %s exits 2 before any AWS call', async (flag, file, content, message) => {
    await writeFile(join(dir, file), content);
    const ran = await run(['putty', '--format', 'unix', flag, join(dir, file), '--output', join(dir, 'putty')]);
    expect(ran).toMatchObject({ code: 2, stdout: '' });
    expect(ran.stderr).toContain(message);
    expect(ec2.calls().length + route53.calls().length + ssm.calls().length + cfn.calls().length).toBe(0);
    await expect(stat(join(dir, 'putty'))).rejects.toThrow(/ENOENT/);
  });
});

describe('formatTable', () => {
  it('pads every column but the last to its widest cell', () => {
    expect(formatTable(['A', 'BB', 'C'], [['xxx', 'y', 'z'], ['x', 'yyy', '']])).toBe('A    BB   C\nxxx  y    z\nx    yyy\n');
  });
});

describe('renderHosts', () => {
  const hosts = (name: string) => (name === 'web' ? { public: 'web.example.com', private: 'web.internal.example' } : {});

  it('writes sorted blocks with HostKeyAlias, falling back from hostname to public then private IP', () => {
    const { blocks, skipped } = renderHosts(
      [
        { name: 'web', instanceId: 'i-0aaa', publicIp: '198.51.100.1' },
        { name: 'db', instanceId: 'i-0bbb', privateIp: '10.0.0.2' },
        { name: 'api', instanceId: 'i-0ccc', publicIp: '198.51.100.3', privateIp: '10.0.0.3' },
      ],
      hosts,
      { user: 'ubuntu' },
    );
    expect(skipped).toEqual([]);
    expect(blocks).toEqual([
      'Host api\n  HostName 198.51.100.3\n  HostKeyAlias i-0ccc\n  User ubuntu\n',
      'Host db\n  HostName 10.0.0.2\n  HostKeyAlias i-0bbb\n  User ubuntu\n',
      'Host web\n  HostName web.example.com\n  HostKeyAlias i-0aaa\n  User ubuntu\n',
    ]);
  });

  it('skips entries that could inject ssh options', () => {
    const { blocks, skipped } = renderHosts(
      [
        { name: 'x', instanceId: 'i-0abc\n  ProxyCommand evil', publicIp: '198.51.100.1' },
        { name: 'y', instanceId: 'i-0abd', publicIp: '1.2.3.4 -oProxyCommand=evil' },
      ],
      () => ({}),
    );
    expect(blocks).toEqual([]);
    expect(skipped).toHaveLength(2);
  });
});

describe('formatPlan', () => {
  const zone = { id: 'Z1', kind: 'public' as const, name: 'example.com' };
  const plan: Plan = {
    zones: [
      {
        zone,
        groups: [
          {
            name: 'web',
            reason: 'update',
            instanceIds: ['i-1'],
            changes: [
              { action: 'DELETE', record: { name: 'web.example.com.', type: 'A', ttl: 60, values: ['198.51.100.1'] } },
              { action: 'CREATE', record: { name: 'web.example.com.', type: 'A', ttl: 60, values: ['1.2.3.4'] } },
            ],
          },
        ],
      },
    ],
    parameters: [
      { action: 'put', parameter: '/ec2ip/web/public-ip', value: '1.2.3.4', name: 'web', instanceIds: ['i-1'] },
      { action: 'delete', parameter: '/ec2ip/old/public-ip', name: 'old', instanceIds: ['i-2'] },
    ],
    refusals: [{ kind: 'foreign', instanceId: 'i-3', name: 'mail', where: 'example.com', reason: 'the name belongs to someone else' }],
  };

  it('prints one line per change with its sign, then the refusals', () => {
    expect(formatPlan(plan, '/ec2ip')).toBe(
      'example.com (public zone Z1):\n' +
        '  - DELETE A web.example.com 198.51.100.1\n' +
        '  + CREATE A web.example.com 1.2.3.4\n' +
        'SSM parameters under /ec2ip:\n' +
        '  ~ put /ec2ip/web/public-ip = 1.2.3.4\n' +
        '  - delete /ec2ip/old/public-ip\n' +
        'Refused (nothing is written for these):\n' +
        '  ! mail (i-3) in example.com: the name belongs to someone else\n',
    );
    expect(summarise(plan)).toBe('4 changes (2 in Route 53, 2 in SSM), 1 refusal');
  });

  it('lists the Elastic IPs it attaches first and the ones it cannot among the refusals', () => {
    const eip = { associations: [{ instanceId: 'i-1', allocationId: 'eipalloc-0a', publicIp: '52.0.0.1' }], problems: [{ instanceId: 'i-4', reason: 'no free Elastic IP tagged ec2ip:pool' }] };
    const text = formatPlan(plan, '/ec2ip', eip);
    expect(text.startsWith('Elastic IPs:\n  + ATTACH eipalloc-0a (52.0.0.1) to i-1\n')).toBe(true);
    expect(text.endsWith('  ! i-4: no free Elastic IP tagged ec2ip:pool\n')).toBe(true);
  });
});

describe('writeFileIfChanged', () => {
  it('writes 0600, leaves an equal file alone, and refuses a file it may not replace', async () => {
    const dir = tempFolder('unit');
    const file = join(dir, 'nested', 'hosts.conf');
    expect(await writeFileIfChanged(file, '# mine\nA\n', { mode: 0o600 })).toBe('written');
    const first = await stat(file);
    expect(first.mode & 0o777).toBe(0o600);
    await new Promise((r) => setTimeout(r, 15));
    expect(await writeFileIfChanged(file, '# mine\nA\n')).toBe('unchanged');
    expect((await stat(file)).mtimeMs).toBe(first.mtimeMs);
    expect(await writeFileIfChanged(file, '# mine\nB\n', { mayReplace: (c) => c.startsWith('# mine') })).toBe('written');
    expect(await readFile(file, 'utf8')).toBe('# mine\nB\n');

    const foreign = join(dir, 'config');
    await writeFile(foreign, 'Host keep\n');
    expect(await writeFileIfChanged(foreign, '# mine\n', { mayReplace: (c) => c.startsWith('# mine') })).toBe('refused');
    expect(await readFile(foreign, 'utf8')).toBe('Host keep\n');
  });
});

describe('chooseAddress: where a person connects', () => {
  const all = { publicIp: '198.51.100.7', privateIp: '10.0.0.9', ipv6: '2600:1F18:abcd::5' };
  const name = { public: 'web.example.com', private: 'web.internal.example' };
  it.each([
    ['a hostname first', all, name, undefined, { host: 'web.example.com', kind: 'hostname' }],
    ['the private zone\'s name without a public one', all, { private: 'web.internal.example' }, undefined, { host: 'web.internal.example', kind: 'hostname' }],
    ['else the public IPv4', all, {}, undefined, { host: '198.51.100.7', kind: 'public-ipv4' }],
    ['else the IPv6 address, lower case', { privateIp: '10.0.0.9', ipv6: '2600:1F18:abcd::5' }, {}, undefined, { host: '2600:1f18:abcd::5', kind: 'ipv6' }],
    ['the first of several IPv6 addresses (the parameter is comma-separated)', { ipv6: '2600:1f18::5,2600:1f18::6' }, {}, undefined, { host: '2600:1f18::5', kind: 'ipv6' }],
    ['else the private IPv4', { privateIp: '10.0.0.9' }, {}, undefined, { host: '10.0.0.9', kind: 'private-ipv4' }],
    ['--prefer ipv6: the IPv6 address before the name', all, name, 'ipv6', { host: '2600:1f18:abcd::5', kind: 'ipv6' }],
    ['--prefer ipv4: the public IPv4 before the name', all, name, 'ipv4', { host: '198.51.100.7', kind: 'public-ipv4' }],
    ['--prefer ipv6 without one: the name', { publicIp: '198.51.100.7' }, name, 'ipv6', { host: 'web.example.com', kind: 'hostname' }],
    ['--prefer ipv4 without a public one: the name, never the private IP first', { privateIp: '10.0.0.9', ipv6: '2600::1' }, name, 'ipv4', { host: 'web.example.com', kind: 'hostname' }],
    ['an invalid address parameter is skipped', { publicIp: '198.51.100.7\nProxyCommand x', ipv6: 'fe80::1%eth0', privateIp: '10.0.0.9' }, {}, undefined, { host: '10.0.0.9', kind: 'private-ipv4' }],
  ] as const)('%s', (_, published, held, prefer, expected) => {
    expect(chooseAddress(published, held, prefer)).toEqual(expected);
  });

  it('gives nothing without any usable address, and brackets an IPv6 address for host:port', () => {
    expect(chooseAddress({}, {})).toBeUndefined();
    expect(bracketed('2600:1f18::5')).toBe('[2600:1f18::5]');
    expect(bracketed('198.51.100.7')).toBe('198.51.100.7');
    expect(bracketed('web.example.com')).toBe('web.example.com');
  });
});

describe('writeFileIfChanged and symbolic links', () => {
  it('refuses a link at the path, naming its target, and leaves the target as it was', async () => {
    const dir = tempFolder('unit');
    const target = join(dir, 'bashrc');
    await writeFile(target, 'export A=1\n');
    await symlink(target, join(dir, 'known_hosts'));
    await expect(writeFileIfChanged(join(dir, 'known_hosts'), 'x\n')).rejects.toThrow(`${join(dir, 'known_hosts')} is a symbolic link to ${target}`);
    await symlink(join(dir, 'missing'), join(dir, 'dangling'));
    await expect(writeFileIfChanged(join(dir, 'dangling'), 'x\n')).rejects.toThrow('It points at nothing that exists');
    expect(await readFile(target, 'utf8')).toBe('export A=1\n');
    await expect(stat(join(dir, 'missing'))).rejects.toThrow(/ENOENT/);
  });

  it('refuses a folder or a pipe at the path without opening it', async () => {
    const dir = tempFolder('unit');
    await expect(writeFileIfChanged(dir, 'x\n')).rejects.toThrow(`${dir} is not a regular file`);
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    await expect(writeFileIfChanged(join(dir, 'fifo'), 'x\n')).rejects.toThrow('is not a regular file (a folder, a device or a pipe)');
  });
});

describe('explainAwsError', () => {
  it('tells missing credentials (exit 2), access denied (exit 1) and unknown zones (exit 2) apart', () => {
    const creds = explainAwsError(sdkError('CredentialsProviderError', 'Could not load credentials from any providers'), 'reading x');
    expect(creds.exitCode).toBe(2);
    expect(creds.message).toContain('no usable AWS credentials while reading x');
    const denied = explainAwsError(sdkError('AccessDeniedException', 'User is not authorized to perform: ssm:GetParameter', 400), 'reading x');
    expect(denied.exitCode).toBe(1);
    expect(denied.message).toMatch(/^access denied while reading x: .*ssm:GetParameter/);
    expect(explainAwsError(sdkError('NoSuchHostedZone', 'No hosted zone found', 404), 'reading Z1').exitCode).toBe(2);
    expect(explainAwsError(sdkError('ExpiredTokenException', 'The security token included in the request is expired'), 'x').exitCode).toBe(2);
  });
});

describe('readStates', () => {
  it('answers undefined when DescribeInstances is denied, so list shows "-"', async () => {
    ec2.on(DescribeInstancesCommand).rejects(sdkError('UnauthorizedOperation', 'You are not authorized to perform this operation.', 403));
    expect(await readStates(new EC2Client({ region: 'us-east-1' }), ['i-0abc'])).toBeUndefined();
  });

  it('marks ids EC2 does not return as gone', async () => {
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: 'i-0abc', State: { Name: 'running' } }] }] });
    expect(await readStates(new EC2Client({ region: 'us-east-1' }), ['i-0abc', 'i-0def'])).toEqual(new Map([['i-0abc', 'running'], ['i-0def', 'gone']]));
  });
});

describe('reconcile', () => {
  it('exits 1 and names the instance when a change fails', async () => {
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            {
              InstanceId: 'i-0abc',
              State: { Name: 'running' },
              PublicIpAddress: '198.51.100.7',
              PrivateIpAddress: '10.0.0.7',
              LaunchTime: new Date('2025-01-01T00:00:00Z'),
              Tags: [{ Key: 'ec2ip:name', Value: 'web' }],
            },
          ],
        },
      ],
    });
    route53.on(ListResourceRecordSetsCommand).resolves({ ResourceRecordSets: [{ Name: 'example.com.', Type: 'SOA', TTL: 900, ResourceRecords: [{ Value: 'ns. host. 1 7200 900 1209600 86400' }] }], IsTruncated: false });
    route53.on(ChangeResourceRecordSetsCommand).rejects(sdkError('Throttling', 'Rate exceeded', 400));
    ssm.on(GetParametersByPathCommand).resolves({ Parameters: [] });
    ssm.on(PutParameterCommand).resolves({ Version: 1 });

    const ran = await run(['reconcile', '--hosted-zone-id', 'Z1']);
    expect(ran.code).toBe(1);
    expect(ran.stdout).toContain('+ CREATE A web.example.com 198.51.100.7');
    expect(ran.stdout).toContain('Reconciled 1 tagged instances: 3 of 5 changes (2 in Route 53, 3 in SSM) applied.');
    expect(ran.stderr).toContain('failed i-0abc: Route 53 change to web.example.com in zone Z1 failed: Throttling: Rate exceeded');
    expect(cfn.calls()).toHaveLength(0);
  });
});
