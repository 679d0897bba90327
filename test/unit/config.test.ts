import { describe, expect, it } from 'vitest';
import { readConfig } from '../../functions/core/config.js';

describe('readConfig', () => {
  it('applies SPEC’s defaults', () => {
    expect(readConfig({ AWS_REGION: 'us-east-1' })).toEqual({ region: 'us-east-1', prefix: '/ec2ip', ttl: 60, ownerId: 'ec2ip', onStop: 'delete' });
  });

  it('reads every variable and strips /hostedzone/ from zone ids', () => {
    const env = { AWS_REGION: 'eu-west-1', HOSTED_ZONE_ID: '/hostedzone/Z111', PRIVATE_HOSTED_ZONE_ID: 'Z222', PARAMETER_PREFIX: '/team/ips', RECORD_TTL: '30', OWNER_ID: 'my-stack', ON_STOP: 'keep' };
    expect(readConfig(env)).toEqual({ region: 'eu-west-1', hostedZoneId: 'Z111', privateHostedZoneId: 'Z222', prefix: '/team/ips', ttl: 30, ownerId: 'my-stack', onStop: 'keep' });
  });

  it('lets flags win over the environment', () => {
    expect(readConfig({ AWS_REGION: 'us-east-1', PARAMETER_PREFIX: '/a' }, { prefix: '/b', ttl: '5' })).toMatchObject({ prefix: '/b', ttl: 5 });
  });

  it.each([
    [{ AWS_REGION: undefined }, /AWS_REGION is not set/],
    [{ HOSTED_ZONE_ID: 'example.com' }, /HOSTED_ZONE_ID="example.com" is not a hosted zone id/],
    [{ HOSTED_ZONE_ID: 'Z1', PRIVATE_HOSTED_ZONE_ID: 'Z1' }, /both Z1/],
    [{ PARAMETER_PREFIX: 'ec2ip' }, /PARAMETER_PREFIX="ec2ip"/],
    [{ PARAMETER_PREFIX: '/ec2ip/' }, /not end with/],
    [{ PARAMETER_PREFIX: '/aws/x' }, /not start with \/aws/],
    [{ RECORD_TTL: '1m' }, /RECORD_TTL="1m" is not a TTL/],
    [{ OWNER_ID: 'a,b' }, /OWNER_ID="a,b"/],
    [{ ON_STOP: 'stop' }, /ON_STOP="stop" is not supported/],
  ])('refuses %j with a message naming the variable', (env, message) => {
    expect(() => readConfig({ AWS_REGION: 'us-east-1', ...env })).toThrow(message);
  });
});
