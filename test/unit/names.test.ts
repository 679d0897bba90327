import { describe, expect, it } from 'vitest';
import { checkName, ipv4, ipv6, nameOfOwnershipFqdn, splitParameter, zoneNameProblem } from '../../functions/core/names.js';
import { firstLaunched, formatOwnership, parseOwnership } from '../../functions/core/ownership.js';

describe('checkName', () => {
  it.each([
    ['web', 'web'],
    ['Web', 'web'],
    ['api.dev', 'api.dev'],
    ['a-1', 'a-1'],
    ['x'.repeat(63), 'x'.repeat(63)],
  ])('accepts %s as %s', (tag, name) => {
    expect(checkName(tag, ['example.com'])).toEqual({ ok: true, name });
  });

  it.each([
    ['', 'empty'],
    ['*', 'label "*"'],
    ['a..b', 'label ""'],
    ['-web', 'label "-web"'],
    ['web-', 'label "web-"'],
    ['../x', 'label ""'],
    ['web.', 'label ""'],
    ['wéb', 'label "wéb"'],
    ['we b', 'label "we b"'],
    ['_ec2ip', 'label "_ec2ip"'],
    ['x'.repeat(64), 'label'],
  ])('refuses %j', (tag, reason) => {
    const check = checkName(tag, ['example.com']);
    expect(check.ok).toBe(false);
    expect(!check.ok && check.reason).toContain(reason);
  });

  it('refuses a name whose ownership record would not fit in a configured zone', () => {
    const long = Array.from({ length: 4 }, () => 'x'.repeat(60)).join('.');
    expect(checkName(long, [])).toMatchObject({ ok: true });
    expect(checkName(long, ['example.com'])).toMatchObject({ ok: false, reason: expect.stringContaining('too long for the zone example.com') });
  });
});

describe('ownership record', () => {
  it('round-trips owner, region and instance', () => {
    const value = formatOwnership({ owner: 'stack', region: 'eu-west-1', instance: 'i-1' });
    expect(value).toBe('"heritage=ec2ip,owner=stack,region=eu-west-1,instance=i-1"');
    expect(parseOwnership(value)).toEqual({ owner: 'stack', region: 'eu-west-1', instance: 'i-1' });
  });

  it.each(['"v=spf1 -all"', '"heritage=external-dns,owner=x"', '"heritage=ec2ip,owner=x,region=y"', 'garbage'])('does not read %s as ec2ip’s', (value) => {
    expect(parseOwnership(value)).toBeUndefined();
  });

  it('finds the name of an ownership record only inside its zone', () => {
    expect(nameOfOwnershipFqdn('_ec2ip.api.dev.example.com.', 'example.com')).toBe('api.dev');
    expect(nameOfOwnershipFqdn('_ec2ip.web.other.com.', 'example.com')).toBeUndefined();
    expect(nameOfOwnershipFqdn('web.example.com.', 'example.com')).toBeUndefined();
  });

  it('picks the first launched claimant, the smaller id on a tie, and an instance with a launch time over one without', () => {
    const t = '2026-01-01T00:00:00Z';
    expect(firstLaunched([{ id: 'i-b', launchTime: t }, { id: 'i-a', launchTime: '2026-02-01T00:00:00Z' }])?.id).toBe('i-b');
    expect(firstLaunched([{ id: 'i-b', launchTime: t }, { id: 'i-a', launchTime: t }])?.id).toBe('i-a');
    expect(firstLaunched([{ id: 'i-a' }, { id: 'i-b', launchTime: t }])?.id).toBe('i-b');
    expect(firstLaunched([{ id: 'i-a', launchTime: 'not a date' }, { id: 'i-b', launchTime: t }])?.id).toBe('i-b');
  });
});

describe('addresses and parameters', () => {
  it('validates IPv4 addresses instead of trusting DescribeInstances', () => {
    expect(ipv4('10.0.0.157')).toBe('10.0.0.157');
    expect(ipv4('10-0-0-157')).toBeUndefined();
    expect(ipv4('256.1.1.1')).toBeUndefined();
    expect(ipv4(null)).toBeUndefined();
  });

  it('accepts IPv6 addresses and lower-cases them', () => {
    expect(ipv6('2600:1F18::1')).toBe('2600:1f18::1');
    expect(ipv6('not-an-ip')).toBeUndefined();
  });

  it('splits only parameters directly under a name folder of the prefix', () => {
    expect(splitParameter('/ec2ip', '/ec2ip/web/public-ip')).toEqual({ name: 'web', leaf: 'public-ip' });
    expect(splitParameter('/ec2ip', '/ec2ipx/web/public-ip')).toBeUndefined();
    expect(splitParameter('/ec2ip', '/ec2ip/web')).toBeUndefined();
    expect(splitParameter('/ec2ip', '/ec2ip/a/b/c')).toBeUndefined();
  });
});

describe('zoneNameProblem', () => {
  it.each(['example.com', 'internal.example', '_corp.example.com', 'a-b.c0.example'])('accepts %s', (zone) => {
    expect(zoneNameProblem(zone)).toBeUndefined();
  });

  it.each([
    ['example.com\n  proxycommand touch x', 'its label "com\\n  proxycommand touch x"'],
    ['exa mple.com', 'its label "exa mple"'],
    ['ex\\032ample.com', 'its label "ex\\\\032ample"'],
    ['example..com', 'its label ""'],
    ['-x.example.com', 'its label "-x"'],
    ['', '0 characters long'],
    [`${'a'.repeat(60)}.`.repeat(5), 'characters long'],
  ])('refuses %j', (zone, problem) => {
    expect(zoneNameProblem(zone)).toContain(problem);
  });
});
