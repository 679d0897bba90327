/**
 * The ownership record and the name rules at their edges: each case pins a branch that
 * mutation testing (npm run mutate) found unchecked by the planner's tables.
 */
import { describe, expect, it } from 'vitest';
import {
  applyNameTemplate,
  checkName,
  checkTemplateName,
  ipv4,
  ipv6,
  nameOfOwnershipFqdn,
  ownershipFqdn,
  parameterFolder,
  recordFqdn,
  splitParameter,
  templateProblem,
  usesAccountAlias,
} from '../../functions/core/names.js';
import { firstLaunched, formatOwnership, instanceKey, ownershipKey, parseInstanceKey, parseOwnership, spokeKey } from '../../functions/core/ownership.js';

describe('the ownership record', () => {
  it('is exactly the documented TXT value, with the account only in a hub’s records', () => {
    expect(formatOwnership({ owner: 'ec2ip', region: 'us-east-1', instance: 'i-1' })).toBe('"heritage=ec2ip,owner=ec2ip,region=us-east-1,instance=i-1"');
    expect(formatOwnership({ owner: 'hub', region: 'eu-west-1', account: '111111111111', instance: 'i-2' })).toBe('"heritage=ec2ip,owner=hub,region=eu-west-1,account=111111111111,instance=i-2"');
  });

  it.each([
    ['quoted', '"heritage=ec2ip,owner=o,region=r,instance=i-1"', { owner: 'o', region: 'r', instance: 'i-1' }],
    ['unquoted', 'heritage=ec2ip,owner=o,region=r,instance=i-1', { owner: 'o', region: 'r', instance: 'i-1' }],
    ['split into strings by Route 53', '"heritage=ec2ip,owner=o," "region=r,instance=i-1"', { owner: 'o', region: 'r', instance: 'i-1' }],
    ['in another order', '"instance=i-1,region=r,owner=o,heritage=ec2ip"', { owner: 'o', region: 'r', instance: 'i-1' }],
    ['with an account', '"heritage=ec2ip,owner=o,region=r,account=123456789012,instance=i-1"', { owner: 'o', region: 'r', account: '123456789012', instance: 'i-1' }],
    ['with "=" in a value', '"heritage=ec2ip,owner=a=b,region=r,instance=i-1"', { owner: 'a=b', region: 'r', instance: 'i-1' }],
  ])('reads a record %s', (_case, value, want) => {
    expect(parseOwnership(value)).toStrictEqual(want);
  });

  it.each([
    ['another heritage', '"heritage=external-dns,owner=o,region=r,instance=i-1"'],
    ['no heritage', '"owner=o,region=r,instance=i-1"'],
    ['no owner', '"heritage=ec2ip,region=r,instance=i-1"'],
    ['an empty owner', '"heritage=ec2ip,owner=,region=r,instance=i-1"'],
    ['no region', '"heritage=ec2ip,owner=o,instance=i-1"'],
    ['an empty region', '"heritage=ec2ip,owner=o,region=,instance=i-1"'],
    ['no instance', '"heritage=ec2ip,owner=o,region=r"'],
    ['an empty instance', '"heritage=ec2ip,owner=o,region=r,instance="'],
    ['a field without "="', '"heritage=ec2ip,owner=o,region=r,instance=i-1,junk"'],
    ['a field starting with "="', '"heritage=ec2ip,owner=o,region=r,instance=i-1,=x"'],
    ['an account of 11 digits', '"heritage=ec2ip,owner=o,region=r,account=12345678901,instance=i-1"'],
    ['an account with letters', '"heritage=ec2ip,owner=o,region=r,account=12345678901a,instance=i-1"'],
    ['an account of 13 digits', '"heritage=ec2ip,owner=o,region=r,account=1234567890123,instance=i-1"'],
    ['an empty account', '"heritage=ec2ip,owner=o,region=r,account=,instance=i-1"'],
    ['an account inside a longer field', '"heritage=ec2ip,owner=o,region=r,account=x123456789012x,instance=i-1"'],
  ])('does not read a record with %s as ec2ip’s', (_case, value) => {
    expect(parseOwnership(value)).toBeUndefined();
  });

  it('keys instances by id alone, or by account/region/id in a hub', () => {
    expect(instanceKey({ id: 'i-1' })).toBe('i-1');
    expect(instanceKey({ id: 'i-1', account: '111111111111', region: 'eu-west-1' })).toBe('111111111111/eu-west-1/i-1');
    expect(instanceKey({ id: 'i-1', account: '111111111111' })).toBe('111111111111//i-1');
    expect(spokeKey({ account: '111111111111', region: 'eu-west-1' })).toBe('111111111111/eu-west-1');
    expect(ownershipKey({ owner: 'o', region: 'r', instance: 'i-1' })).toBe('i-1');
    expect(ownershipKey({ owner: 'o', region: 'r', account: '111111111111', instance: 'i-1' })).toBe('111111111111/r/i-1');
  });

  it.each([
    ['111111111111/eu-west-1/i-1', { account: '111111111111', region: 'eu-west-1', id: 'i-1' }],
    ['i-1', { id: 'i-1' }],
    ['111111111111//i-1', { id: '111111111111//i-1' }],
    ['/eu-west-1/i-1', { id: '/eu-west-1/i-1' }],
    ['111111111111/eu-west-1/', { id: '111111111111/eu-west-1/' }],
    ['a/b/c/d', { id: 'a/b/c/d' }],
    ['a/b', { id: 'a/b' }],
  ])('parses the key %s', (key, want) => {
    expect(parseInstanceKey(key)).toStrictEqual(want);
  });
});

describe('the first launched claimant', () => {
  const at = (id: string, launchTime?: string) => (launchTime === undefined ? { id } : { id, launchTime });

  it('is none of no claimants', () => {
    expect(firstLaunched([])).toBeUndefined();
  });

  it.each([
    ['the earlier launch, in either order', [at('i-b', '2026-01-01T00:00:00Z'), at('i-a', '2026-01-01T00:00:01Z')], 'i-b'],
    ['the earlier launch, listed second', [at('i-a', '2026-01-01T00:00:01Z'), at('i-b', '2026-01-01T00:00:00Z')], 'i-b'],
    ['the smaller id on a tie, listed second', [at('i-b', '2026-01-01T00:00:00Z'), at('i-a', '2026-01-01T00:00:00Z')], 'i-a'],
    ['the smaller id on a tie, listed first', [at('i-a', '2026-01-01T00:00:00Z'), at('i-b', '2026-01-01T00:00:00Z')], 'i-a'],
    ['one with a launch time over one without', [at('i-a'), at('i-b', '2026-01-01T00:00:00Z')], 'i-b'],
    ['one with a launch time over an unreadable one', [at('i-a', 'yesterday'), at('i-b', '2026-01-01T00:00:00Z')], 'i-b'],
    ['the smaller id when neither has a launch time', [at('i-b'), at('i-a')], 'i-a'],
    ['the earliest of three', [at('i-c', '2026-01-03T00:00:00Z'), at('i-a', '2026-01-01T00:00:00Z'), at('i-b', '2026-01-02T00:00:00Z')], 'i-a'],
  ])('is %s', (_case, claimants, want) => {
    expect(firstLaunched(claimants)?.id).toBe(want);
  });

  it('keeps the first of two identical claimants', () => {
    const first = at('i-a', '2026-01-01T00:00:00Z');
    const second = at('i-a', '2026-01-01T00:00:00Z');
    expect(firstLaunched([first, second])).toBe(first);
  });
});

describe('names at their limits', () => {
  it('takes 253 characters and refuses 254, naming the length', () => {
    const label = 'a'.repeat(63);
    const n253 = [label, label, label, 'b'.repeat(61)].join('.');
    expect(n253).toHaveLength(253);
    expect(checkName(n253, [])).toEqual({ ok: true, name: n253 });
    expect(checkName(`${n253}b`, [])).toEqual({ ok: false, reason: 'the ec2ip:name tag is 254 characters long; a DNS name has at most 253' });
  });

  it('refuses an empty tag by saying so', () => {
    expect(checkName('', [])).toEqual({ ok: false, reason: 'the ec2ip:name tag is empty' });
  });

  it('lower-cases and names the label at fault', () => {
    expect(checkName('Web.DEV', ['example.com'])).toEqual({ ok: true, name: 'web.dev' });
    expect(checkName('a', [])).toEqual({ ok: true, name: 'a' });
    expect(checkName('a-b', [])).toEqual({ ok: true, name: 'a-b' });
    expect(checkName('web.-x', [])).toEqual({ ok: false, reason: 'the ec2ip:name tag "web.-x" has the label "-x": each label must be 1-63 characters of a-z, 0-9 and "-", not starting or ending with "-"' });
    expect(checkName('x-.web', []).ok).toBe(false);
    expect(checkName('a'.repeat(63), []).ok).toBe(true);
    expect(checkName('a'.repeat(64), []).ok).toBe(false);
  });

  it('fits the ownership name in every zone: 253 characters without the final dot', () => {
    const zone = 'example.com';
    // `_ec2ip.` + name + `.` + zone = 7 + n + 1 + 11 characters.
    const fits = ['a'.repeat(63), 'a'.repeat(63), 'a'.repeat(63), 'a'.repeat(253 - 7 - 1 - 11 - 3 * 64)].join('.');
    expect(ownershipFqdn(fits, zone).length - 1).toBe(253);
    expect(checkName(fits, ['a.io', zone])).toEqual({ ok: true, name: fits });
    const over = `${fits}b`;
    expect(checkName(over, ['a.io', zone])).toEqual({
      ok: false,
      reason: `the ec2ip:name tag "${over}" is too long for the zone ${zone}: ${ownershipFqdn(over, zone)} exceeds 253 characters`,
    });
  });

  it('builds record, ownership and parameter names exactly', () => {
    expect(recordFqdn('web', 'example.com')).toBe('web.example.com.');
    expect(ownershipFqdn('web', 'example.com')).toBe('_ec2ip.web.example.com.');
    expect(parameterFolder('/ec2ip', 'web')).toBe('/ec2ip/web');
  });

  it.each([
    ['_ec2ip.web.example.com.', 'web'],
    ['_ec2ip.a.b.example.com.', 'a.b'],
    ['_ec2ip..example.com.', undefined],
    ['_ec2ip.example.com.', undefined],
    ['web.example.com.', undefined],
    ['x_ec2ip.web.example.com.', undefined],
    ['_ec2ip.web.example.com', undefined],
    ['_ec2ip.web.other.com.', undefined],
    ['_ec2ip.web.notexample.com.', undefined],
  ])('reads the ownership name %s as %s', (fqdn, want) => {
    expect(nameOfOwnershipFqdn(fqdn, 'example.com')).toBe(want);
  });

  it.each([
    ['/ec2ip/web/public-ip', { name: 'web', leaf: 'public-ip' }],
    ['/ec2ip/web', undefined],
    ['/ec2ip/web/x/y', undefined],
    ['/ec2ip//public-ip', undefined],
    ['/ec2ip/web/', undefined],
    ['/ec2ipx/web/public-ip', undefined],
    ['/other/ec2ip/web/public-ip', undefined],
    ['ec2ip/web/public-ip', undefined],
  ])('splits %s under /ec2ip as %j', (parameter, want) => {
    expect(splitParameter('/ec2ip', parameter)).toStrictEqual(want);
  });
});

describe('addresses at their limits', () => {
  it.each([
    ['0.0.0.0', true], ['255.255.255.255', true], ['249.200.199.100', true], ['10.0.0.3', true], ['1.22.103.9', true],
    ['256.1.1.1', false], ['1.1.1.256', false], ['01.1.1.1', false], ['1.1.1', false], ['1.1.1.1.1', false], [' 1.1.1.1', false], ['1.1.1.1 ', false], ['a.b.c.d', false], ['1.1.1.260', false], ['300.1.1.1', false],
  ])('ipv4 %s: %s', (value, ok) => {
    expect(ipv4(value)).toBe(ok ? value : undefined);
  });

  it('refuses what is not a string as an address', () => {
    expect(ipv4(undefined)).toBeUndefined();
    expect(ipv4(null)).toBeUndefined();
    expect(ipv6(undefined)).toBeUndefined();
    expect(ipv6(null)).toBeUndefined();
  });

  it.each([
    ['2001:DB8::1', '2001:db8::1'],
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
    ['2001db8', undefined],
    ['2001:db8::g', undefined],
    ['', undefined],
    [`${'0000:'.repeat(7)}0000`.padEnd(45, '0').slice(0, 45), `${'0000:'.repeat(7)}0000`.padEnd(45, '0').slice(0, 45)],
    [`${'0000:'.repeat(7)}0000`.padEnd(46, '0'), undefined],
  ])('ipv6 %s: %s', (value, want) => {
    expect(ipv6(value)).toBe(want);
  });
});

describe('name templates', () => {
  const place = { account: '111111111111', accountAlias: 'acme', region: 'eu-west-1' };

  it('fills every placeholder, and leaves the unknown place empty', () => {
    expect(applyNameTemplate('{name}.{account}.{account-alias}.{region}', 'web', place)).toBe('web.111111111111.acme.eu-west-1');
    expect(applyNameTemplate('{name}-{region}{account}{account-alias}', 'web', {})).toBe('web-');
    expect(applyNameTemplate('{name}-{other}', 'web', place)).toBe('web-{other}');
  });

  it('knows when the alias is needed', () => {
    expect(usesAccountAlias(undefined)).toBe(false);
    expect(usesAccountAlias('{name}.{account}')).toBe(false);
    expect(usesAccountAlias('{name}.{account-alias}')).toBe(true);
  });

  it('refuses a name under an alias template in an account without alias, naming the account', () => {
    const check = checkTemplateName('{name}.{account-alias}', 'web', { account: '111111111111', region: 'eu-west-1' }, []);
    expect(check).toEqual({ ok: false, reason: expect.stringContaining('account 111111111111 has none') });
    expect(checkTemplateName('{name}.{account-alias}', 'web', {}, [])).toEqual({ ok: false, reason: expect.stringContaining('account (unknown) has none') });
    expect(checkTemplateName('{name}.{account-alias}', 'web', place, ['example.com'])).toEqual({ ok: true, name: 'web.acme' });
    expect(checkTemplateName('{name}.{account}', 'web', { region: 'eu-west-1' }, [])).toEqual({ ok: false, reason: expect.stringContaining('has the label ""') });
  });

  it.each([
    ['{name}', undefined],
    ['{name}.{account}.{region}', undefined],
    ['{name}.{account-alias}', undefined],
    ['{host}', 'it uses {host}; the placeholders are {name}, {account}, {account-alias}, {region}'],
    ['{}', 'it uses {}; the placeholders are {name}, {account}, {account-alias}, {region}'],
    ['{account}', 'it must contain {name} exactly once'],
    ['{name}.{name}', 'it must contain {name} exactly once'],
    ['{name}}', 'it has an unmatched brace'],
    ['{{name}', 'it uses {{name}; the placeholders are {name}, {account}, {account-alias}, {region}'],
    ['{name}{', 'it has an unmatched brace'],
    ['{name}-', expect.stringMatching(/^it does not give a valid name \(for web in 111111111111 \(acme-prod\) us-east-1: the ec2ip:name tag "web-" has the label/)],
  ])('checks the template %s', (template, want) => {
    expect(templateProblem(template)).toEqual(want);
  });
});
