/**
 * readConfig at its limits and in hub mode: every accepted edge and every refusal's message.
 * Kept apart from config.test.ts; each case pins a branch mutation testing found open.
 */
import { describe, expect, it } from 'vitest';
import { configuredZones, parseSpokes, partitionOf, readConfig } from '../../functions/core/config.js';
import { ConfigError } from '../../functions/core/errors.js';

const base = { AWS_REGION: 'us-east-1' };
const hubEnv = { ...base, SPOKE_ROLE_NAME: 'ec2ip-spoke', SPOKE_EXTERNAL_ID: 'ext-id-1', SPOKES: '111111111111:us-east-1' };
const refusal = (env: Record<string, string | undefined>) => {
  try {
    readConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
};

describe('readConfig at its limits', () => {
  it('falls back to AWS_DEFAULT_REGION, and trims values', () => {
    expect(readConfig({ AWS_DEFAULT_REGION: 'eu-west-1' }).region).toBe('eu-west-1');
    expect(readConfig({ AWS_REGION: ' eu-west-1 ', AWS_DEFAULT_REGION: 'us-east-1' }).region).toBe('eu-west-1');
    expect(readConfig({ ...base, PARAMETER_PREFIX: '  /team  ', OWNER_ID: ' me ', RECORD_TTL: ' 5 ' })).toMatchObject({ prefix: '/team', ownerId: 'me', ttl: 5 });
  });

  it('reads an empty or blank value as unset', () => {
    expect(readConfig({ ...base, HOSTED_ZONE_ID: '', PRIVATE_HOSTED_ZONE_ID: '  ', PARAMETER_PREFIX: '', RECORD_TTL: ' ', OWNER_ID: '', ON_STOP: '', ENABLE_ELASTIC_IP: '' })).toStrictEqual({
      region: 'us-east-1', prefix: '/ec2ip', ttl: 60, ownerId: 'ec2ip', onStop: 'delete',
    });
    expect(refusal({ AWS_REGION: ' ' })).toBe('AWS_REGION is not set: set it to the region of the instances (the Lambda runtime sets it for you)');
  });

  it('reads the settings case-insensitively where they are words', () => {
    expect(readConfig({ ...base, ON_STOP: 'KEEP', ENABLE_ELASTIC_IP: 'TRUE' })).toMatchObject({ onStop: 'keep', elasticIp: true });
    expect(readConfig({ ...base, ENABLE_ELASTIC_IP: 'False' }).elasticIp).toBeUndefined();
  });

  it('refuses an ENABLE_ELASTIC_IP that is not true or false', () => {
    expect(refusal({ ...base, ENABLE_ELASTIC_IP: 'yes' })).toBe('ENABLE_ELASTIC_IP="yes" is not supported: use "true" (attach Elastic IPs to instances tagged ec2ip:eip) or "false"');
  });

  it('takes zone ids of 1 to 32 capitals and digits', () => {
    expect(readConfig({ ...base, HOSTED_ZONE_ID: 'Z', PRIVATE_HOSTED_ZONE_ID: 'Z'.repeat(32) })).toMatchObject({ hostedZoneId: 'Z', privateHostedZoneId: 'Z'.repeat(32) });
    for (const bad of ['Z'.repeat(33), 'z1', 'Z1/', 'x/hostedzone/Z1', '/hostedzone/']) {
      expect(refusal({ ...base, HOSTED_ZONE_ID: bad })).toBe(`HOSTED_ZONE_ID="${bad}" is not a hosted zone id: expected something like Z0123456789ABCDEFGHIJ`);
    }
    expect(refusal({ ...base, PRIVATE_HOSTED_ZONE_ID: 'nope' })).toMatch(/^PRIVATE_HOSTED_ZONE_ID="nope" is not a hosted zone id/);
    expect(refusal({ ...base, HOSTED_ZONE_ID: 'Z1', PRIVATE_HOSTED_ZONE_ID: '/hostedzone/Z1' })).toBe('HOSTED_ZONE_ID and PRIVATE_HOSTED_ZONE_ID are both Z1: give the private zone its own id, or leave one unset');
    expect(readConfig({ ...base, PRIVATE_HOSTED_ZONE_ID: 'Z1' })).toMatchObject({ privateHostedZoneId: 'Z1' });
  });

  it('takes a prefix of up to 13 levels, and none under /aws or /ssm', () => {
    const levels = (n: number) => Array.from({ length: n }, (_, i) => `/l${i}`).join('');
    expect(readConfig({ ...base, PARAMETER_PREFIX: levels(13) }).prefix).toBe(levels(13));
    const message = (p: string) => `PARAMETER_PREFIX="${p}" is not a usable parameter path: it must start with "/", use only a-z A-Z 0-9 _ . -, not end with "/", have at most 13 levels and not start with /aws or /ssm`;
    for (const bad of [levels(14), '/AWS', '/ssm/x', '/a b', '//a', 'a/b']) expect(refusal({ ...base, PARAMETER_PREFIX: bad })).toBe(message(bad));
    expect(readConfig({ ...base, PARAMETER_PREFIX: '/my.aws_-X' }).prefix).toBe('/my.aws_-X');
    expect(readConfig({ ...base, PARAMETER_PREFIX: '/team/aws' }).prefix).toBe('/team/aws');
  });

  it('takes a TTL from 0 to 2147483647 whole seconds', () => {
    expect(readConfig({ ...base, RECORD_TTL: '0' }).ttl).toBe(0);
    expect(readConfig({ ...base, RECORD_TTL: '2147483647' }).ttl).toBe(2147483647);
    for (const bad of ['2147483648', '-1', '1.5', '1e3', '0x10', '99999999999999999999']) {
      expect(refusal({ ...base, RECORD_TTL: bad })).toBe(`RECORD_TTL="${bad}" is not a TTL: give a whole number of seconds, e.g. 60`);
    }
  });

  it('takes an owner id of 1 to 128 of A-Z a-z 0-9 _ . -', () => {
    expect(readConfig({ ...base, OWNER_ID: 'A'.repeat(128) }).ownerId).toBe('A'.repeat(128));
    expect(readConfig({ ...base, OWNER_ID: 'a_b.c-D9' }).ownerId).toBe('a_b.c-D9');
    for (const bad of ['A'.repeat(129), 'a=b', 'a b', 'é']) {
      expect(refusal({ ...base, OWNER_ID: bad })).toBe(`OWNER_ID="${bad}" is not usable in an ownership record: use 1-128 of A-Z a-z 0-9 _ . -`);
    }
  });

  it('refuses another ON_STOP, naming both choices', () => {
    expect(refusal({ ...base, ON_STOP: 'Stop' })).toBe('ON_STOP="stop" is not supported: use "delete" (remove public records when an instance stops) or "keep"');
  });

  it('lists the configured zones, the public one first', () => {
    expect(configuredZones(readConfig({ ...base, HOSTED_ZONE_ID: 'Z1', PRIVATE_HOSTED_ZONE_ID: 'Z2' }))).toEqual([{ id: 'Z1', kind: 'public' }, { id: 'Z2', kind: 'private' }]);
    expect(configuredZones(readConfig({ ...base, PRIVATE_HOSTED_ZONE_ID: 'Z2' }))).toEqual([{ id: 'Z2', kind: 'private' }]);
    expect(configuredZones(readConfig(base))).toEqual([]);
  });
});

describe('readConfig in hub mode', () => {
  it('reads a hub with listed spokes and the default template', () => {
    expect(readConfig(hubEnv).hub).toStrictEqual({ roleName: 'ec2ip-spoke', externalId: 'ext-id-1', nameTemplate: '{name}', partition: 'aws', spokes: [{ account: '111111111111', region: 'us-east-1' }] });
  });

  it('reads a hub with a StackSet and a template, in its partition', () => {
    expect(readConfig({ ...hubEnv, AWS_REGION: 'cn-north-1', SPOKES: undefined, SPOKE_STACK_SET: 'ec2ip-spokes', NAME_TEMPLATE: '{name}.{region}' }).hub).toStrictEqual({
      roleName: 'ec2ip-spoke', externalId: 'ext-id-1', nameTemplate: '{name}.{region}', partition: 'aws-cn', stackSet: 'ec2ip-spokes',
    });
    expect(readConfig({ ...hubEnv, SPOKE_STACK_SET: 'S' }).hub).toMatchObject({ stackSet: 'S', spokes: [{ account: '111111111111', region: 'us-east-1' }] });
  });

  it.each(['SPOKE_EXTERNAL_ID', 'SPOKES', 'SPOKE_STACK_SET', 'NAME_TEMPLATE'])('refuses %s without SPOKE_ROLE_NAME', (name) => {
    expect(refusal({ ...base, [name]: 'x' })).toBe(`${name} is set but SPOKE_ROLE_NAME is not: the hub settings need the name of the role to assume in each spoke (or unset ${name} for single-account mode)`);
  });

  it('refuses a bad role name, external id, StackSet or template, naming the variable', () => {
    expect(refusal({ ...hubEnv, SPOKE_ROLE_NAME: 'a b' })).toBe('SPOKE_ROLE_NAME="a b" is not a role name: use 1-64 of A-Z a-z 0-9 + = , . @ _ -');
    expect(refusal({ ...hubEnv, SPOKE_ROLE_NAME: 'r'.repeat(65) })).toMatch(/^SPOKE_ROLE_NAME="r{65}" is not a role name/);
    expect(readConfig({ ...hubEnv, SPOKE_ROLE_NAME: `${'r'.repeat(60)}+=,.@_-`.slice(0, 64) }).hub?.roleName).toHaveLength(64);
    expect(refusal({ ...hubEnv, SPOKE_EXTERNAL_ID: undefined })).toBe('SPOKE_EXTERNAL_ID= is not set: a hub needs the external id its spoke roles demand, 2-1224 of A-Z a-z 0-9 + = , . @ : / _ -');
    expect(refusal({ ...hubEnv, SPOKE_EXTERNAL_ID: 'x' })).toBe('SPOKE_EXTERNAL_ID="x" is not usable: a hub needs the external id its spoke roles demand, 2-1224 of A-Z a-z 0-9 + = , . @ : / _ -');
    expect(refusal({ ...hubEnv, SPOKE_EXTERNAL_ID: 'x'.repeat(1225) })).toMatch(/^SPOKE_EXTERNAL_ID="x+" is not usable/);
    expect(readConfig({ ...hubEnv, SPOKE_EXTERNAL_ID: 'ab' }).hub?.externalId).toBe('ab');
    expect(readConfig({ ...hubEnv, SPOKE_EXTERNAL_ID: 'a:b/c' }).hub?.externalId).toBe('a:b/c');
    expect(refusal({ ...hubEnv, SPOKES: undefined })).toBe('SPOKES and SPOKE_STACK_SET are both unset: list the spokes as SPOKES="111111111111:us-east-1,222222222222:eu-west-1", or name the StackSet whose stack instances are the spokes');
    expect(refusal({ ...hubEnv, SPOKE_STACK_SET: '1set' })).toBe('SPOKE_STACK_SET="1set" is not a StackSet name: a letter, then up to 127 of A-Z a-z 0-9 -');
    expect(refusal({ ...hubEnv, SPOKE_STACK_SET: `S${'s'.repeat(128)}` })).toMatch(/is not a StackSet name/);
    expect(readConfig({ ...hubEnv, SPOKE_STACK_SET: `S${'s'.repeat(127)}` }).hub?.stackSet).toHaveLength(128);
    expect(refusal({ ...hubEnv, NAME_TEMPLATE: '{host}' })).toBe('NAME_TEMPLATE="{host}" is not usable: it uses {host}; the placeholders are {name}, {account}, {account-alias}, {region}');
  });
});

describe('SPOKES and partitions', () => {
  it('splits on commas and spaces, and drops repeats', () => {
    expect(parseSpokes('111111111111:us-east-1, 222222222222:eu-west-1 111111111111:us-east-1,,111111111111:eu-west-1')).toEqual([
      { account: '111111111111', region: 'us-east-1' },
      { account: '222222222222', region: 'eu-west-1' },
      { account: '111111111111', region: 'eu-west-1' },
    ]);
    expect(parseSpokes('111111111111:us-gov-west-1')).toEqual([{ account: '111111111111', region: 'us-gov-west-1' }]);
  });

  it.each(['11111111111:us-east-1', '1111111111111:us-east-1', '111111111111', '111111111111:us-east-1:x', '111111111111:useast1', '111111111111:US-EAST-1', '111111111111:us-east-123', 'x111111111111:us-east-1'])(
    'refuses the entry %s',
    (entry) => {
      expect(() => parseSpokes(entry)).toThrow(new ConfigError(`SPOKES has "${entry}": each entry is <12-digit account>:<region>, e.g. 111111111111:us-east-1`));
    },
  );

  it('refuses an empty list', () => {
    expect(() => parseSpokes(' , ')).toThrow(new ConfigError('SPOKES is empty: list at least one <account>:<region>'));
  });

  it('knows the partition of a region', () => {
    expect(partitionOf('cn-northwest-1')).toBe('aws-cn');
    expect(partitionOf('us-gov-east-1')).toBe('aws-us-gov');
    expect(partitionOf('us-east-1')).toBe('aws');
    expect(partitionOf('eu-cn-1')).toBe('aws');
  });
});
