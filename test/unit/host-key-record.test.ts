/** The host-key record (`<prefix>/<name>/host-keys`), the Run Command output parser, and the planner's care for the record. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatHostKeyRecord, parseHostKeyRecord, parseRunCommandKeys, type HostKey, type HostKeyRecord } from '../../functions/core/host-keys.js';
import { plan } from '../../functions/core/plan.js';
import type { Config, Instance } from '../../functions/core/types.js';
import { tempFolder } from '../support/temp.js';

let keys: HostKey[];
let lines: string[];

beforeAll(() => {
  const dir = tempFolder('keys');
  lines = (['ed25519', 'ecdsa', 'rsa'] as const).map((t) => {
    execFileSync('ssh-keygen', ['-q', '-t', t, '-N', '', '-C', `root@host-${t}`, '-f', join(dir, t)]);
    return readFileSync(join(dir, `${t}.pub`), 'utf8').trim();
  });
  keys = lines.map((l) => ({ type: l.split(' ')[0] as string, base64: l.split(' ')[1] as string }));
});

const ID = 'i-0abcdef1234567890';
const record = (over: Partial<HostKeyRecord> = {}): HostKeyRecord => ({ instance: ID, source: 'console', recordedAt: '2026-12-04T10:00:00.000Z', keys, ...over });

describe('host-key record', () => {
  it('round-trips through its JSON form', () => {
    const value = formatHostKeyRecord(record()) as string;
    expect(JSON.parse(value)).toEqual({ instance: ID, source: 'console', recordedAt: '2026-12-04T10:00:00.000Z', keys: keys.map((k) => `${k.type} ${k.base64}`) });
    expect(parseHostKeyRecord(value)).toEqual({ record: record() });
    expect(parseHostKeyRecord(formatHostKeyRecord(record({ source: 'none', keys: [] })) as string)).toEqual({ record: record({ source: 'none', keys: [] }) });
  });

  it.each([
    ['not JSON', 'ssh-ed25519 AAAA', 'it is not JSON'],
    ['a list', '[]', 'it is not a JSON object'],
    ['an unknown field', () => JSON.stringify({ ...JSON.parse(formatHostKeyRecord(record()) as string), note: 'x' }), 'unknown fields (note)'],
    ['a bad instance id', () => formatHostKeyRecord(record({ instance: 'web' })), '"instance" is not an instance id'],
    ['an unknown source', () => JSON.stringify({ ...JSON.parse(formatHostKeyRecord(record()) as string), source: 'dns' }), '"source" is not console, ssm or none'],
    ['a bad date', () => formatHostKeyRecord(record({ recordedAt: 'yesterday' })), '"recordedAt" is not a date'],
    ['a truncated key', () => formatHostKeyRecord(record({ keys: [{ type: keys[0]?.type as string, base64: (keys[0]?.base64 as string).slice(0, 40) }] })), 'malformed key'],
    ['a key of another type than its blob', () => formatHostKeyRecord(record({ keys: [{ type: 'ssh-rsa', base64: keys[0]?.base64 as string }] })), 'malformed key'],
    ['two keys of one type', () => formatHostKeyRecord(record({ keys: [keys[0] as HostKey, keys[0] as HostKey] })), 'two ssh-ed25519 keys'],
    ['console without keys', () => formatHostKeyRecord(record({ keys: [] })), '"keys" is empty'],
    ['none with keys', () => formatHostKeyRecord(record({ source: 'none' })), '"source" none with keys'],
  ])('refuses %s', (_name, value, reason) => {
    const parsed = parseHostKeyRecord(typeof value === 'function' ? (value() as string) : value);
    expect(parsed).toEqual({ invalid: expect.stringContaining(reason) });
  });

  it('does not fit keys over 4 KB into a Standard parameter', () => {
    const big = { type: 'ssh-rsa', base64: `AAAAB3NzaC1yc2E${'A'.repeat(4100)}` };
    expect(formatHostKeyRecord(record({ keys: [big] }))).toBeUndefined();
  });
});

const block = (body: string) => `-----BEGIN EC2IP HOST KEYS-----\n${body}-----END EC2IP HOST KEYS-----\n`;

describe('Run Command output', () => {
  it('takes well-formed key lines with comments, blank lines between, and skips a DSA key', () => {
    const out = block(`${lines.join('\n\n')}\n\nssh-dss AAAAB3NzaC1kc3MAAACBAP root@old\n`);
    expect(parseRunCommandKeys(out)).toEqual({ keys });
  });

  it.each([
    ['a truncated output (no end marker)', () => `-----BEGIN EC2IP HOST KEYS-----\n${lines[0]}\n`, 'exactly one'],
    ['two blocks', () => block(`${lines[0]}\n`) + block(`${lines[1]}\n`), 'exactly one'],
    ['a line outside the block', () => `motd: hello\n${block(`${lines[0]}\n`)}`, 'outside the block'],
    ['a line that is not a key', () => block(`${lines[0]}\ncat: /etc/ssh/ssh_host_x_key.pub: Permission denied\n`), 'line 2 of the block'],
    ['a broken key', () => block(`${(lines[0] as string).slice(0, 50)}\n`), 'not a well-formed public host key'],
    ['an unknown key type', () => block(`ssh-foo ${keys[0]?.base64}\n`), 'not a well-formed public host key'],
    ['two keys of one type', () => block(`${lines[0]}\n${lines[0]}\n`), 'two ssh-ed25519 keys'],
    ['an empty block', () => block('\n'), 'no public host key'],
    ['an output at the 24,000-character limit', () => block(`${lines[0]}\n`) + ' '.repeat(24_000), "24000-character limit"],
  ])('refuses %s', (_name, out, reason) => {
    expect(parseRunCommandKeys(out())).toEqual({ invalid: expect.stringContaining(reason) });
  });
});

describe('the planner and the host-key record', () => {
  const config: Config = { region: 'us-east-1', prefix: '/ec2ip', ttl: 60, ownerId: 'ec2ip', onStop: 'delete' };
  const holder: Instance = { id: ID, state: 'running', nameTag: 'web', launchTime: '2026-01-01T00:00:00.000Z', privateIp: '10.0.0.3', publicIp: '3.3.3.3', ipv6: [] };
  const current = (hostKeys: string) => new Map([['/ec2ip/web/instance-id', ID], ['/ec2ip/web/private-ip', '10.0.0.3'], ['/ec2ip/web/public-ip', '3.3.3.3'], ['/ec2ip/web/host-keys', hostKeys]]);
  const changes = (parameters: Map<string, string>, targets: Instance[], vanished: string[] = []) =>
    plan({ config, zones: [], parameters, targets, scope: 'targets', vanished, lookedUp: new Set([ID]) }).parameters.map((c) => `${c.action} ${c.parameter}`);

  it('keeps the holder\'s own record', () => {
    expect(changes(current(formatHostKeyRecord(record()) as string), [holder])).toEqual([]);
  });
  it('deletes a record of another instance, or one that does not parse', () => {
    expect(changes(current(formatHostKeyRecord(record({ instance: 'i-0000000000000000a' })) as string), [holder])).toEqual(['delete /ec2ip/web/host-keys']);
    expect(changes(current('{"instance":'), [holder])).toEqual(['delete /ec2ip/web/host-keys']);
  });
  it('deletes the record with the rest when the owner terminates', () => {
    expect(changes(current(formatHostKeyRecord(record()) as string), [{ ...holder, state: 'terminated' }])).toContain('delete /ec2ip/web/host-keys');
  });
});
