import { ConfigError } from './errors.js';
import type { Config, ZoneKind } from './types.js';

const ZONE_ID = /^(?:\/hostedzone\/)?([A-Z0-9]{1,32})$/;
const PREFIX = /^(\/[a-zA-Z0-9_.-]+)+$/;
const OWNER = /^[A-Za-z0-9_.-]{1,128}$/;

/** Overrides from the CLI's flags; they win over the environment. */
export interface ConfigOverrides {
  hostedZoneId?: string | undefined;
  privateHostedZoneId?: string | undefined;
  prefix?: string | undefined;
  ownerId?: string | undefined;
  ttl?: string | undefined;
  onStop?: string | undefined;
  region?: string | undefined;
  elasticIp?: string | undefined;
}

/**
 * Reads and validates the configuration (SPEC "Configuration"). Throws a ConfigError that
 * names the variable and says what a valid value looks like.
 */
export function readConfig(env: Record<string, string | undefined>, overrides: ConfigOverrides = {}): Config {
  const pick = (flag: string | undefined, name: string): string | undefined => {
    const value = flag ?? env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const region = pick(overrides.region, 'AWS_REGION') ?? pick(undefined, 'AWS_DEFAULT_REGION');
  if (!region) throw new ConfigError('AWS_REGION is not set: set it to the region of the instances (the Lambda runtime sets it for you)');

  const zone = (value: string | undefined, name: string): string | undefined => {
    if (value === undefined) return undefined;
    const match = ZONE_ID.exec(value);
    if (!match?.[1]) throw new ConfigError(`${name}="${value}" is not a hosted zone id: expected something like Z0123456789ABCDEFGHIJ`);
    return match[1];
  };
  const hostedZoneId = zone(pick(overrides.hostedZoneId, 'HOSTED_ZONE_ID'), 'HOSTED_ZONE_ID');
  const privateHostedZoneId = zone(pick(overrides.privateHostedZoneId, 'PRIVATE_HOSTED_ZONE_ID'), 'PRIVATE_HOSTED_ZONE_ID');
  if (hostedZoneId && hostedZoneId === privateHostedZoneId) {
    throw new ConfigError(`HOSTED_ZONE_ID and PRIVATE_HOSTED_ZONE_ID are both ${hostedZoneId}: give the private zone its own id, or leave one unset`);
  }

  const prefix = pick(overrides.prefix, 'PARAMETER_PREFIX') ?? '/ec2ip';
  if (!PREFIX.test(prefix) || prefix.split('/').length - 1 > 13 || /^\/(aws|ssm)/i.test(prefix)) {
    throw new ConfigError(
      `PARAMETER_PREFIX="${prefix}" is not a usable parameter path: it must start with "/", use only a-z A-Z 0-9 _ . -, not end with "/", have at most 13 levels and not start with /aws or /ssm`,
    );
  }

  const ttlText = pick(overrides.ttl, 'RECORD_TTL') ?? '60';
  const ttl = Number(ttlText);
  if (!/^\d+$/.test(ttlText) || !Number.isSafeInteger(ttl) || ttl < 0 || ttl > 2147483647) {
    throw new ConfigError(`RECORD_TTL="${ttlText}" is not a TTL: give a whole number of seconds, e.g. 60`);
  }

  const ownerId = pick(overrides.ownerId, 'OWNER_ID') ?? 'ec2ip';
  if (!OWNER.test(ownerId)) {
    throw new ConfigError(`OWNER_ID="${ownerId}" is not usable in an ownership record: use 1-128 of A-Z a-z 0-9 _ . -`);
  }

  const onStop = (pick(overrides.onStop, 'ON_STOP') ?? 'delete').toLowerCase();
  if (onStop !== 'delete' && onStop !== 'keep') {
    throw new ConfigError(`ON_STOP="${onStop}" is not supported: use "delete" (remove public records when an instance stops) or "keep"`);
  }

  const eipText = (pick(overrides.elasticIp, 'ENABLE_ELASTIC_IP') ?? 'false').toLowerCase();
  if (eipText !== 'true' && eipText !== 'false') {
    throw new ConfigError(`ENABLE_ELASTIC_IP="${eipText}" is not supported: use "true" (attach Elastic IPs to instances tagged ec2ip:eip) or "false"`);
  }

  const config: Config = { region, prefix, ttl, ownerId, onStop };
  if (eipText === 'true') config.elasticIp = true;
  if (hostedZoneId) config.hostedZoneId = hostedZoneId;
  if (privateHostedZoneId) config.privateHostedZoneId = privateHostedZoneId;
  return config;
}

/** The zones the configuration names, the public one first. */
export function configuredZones(config: Config): { id: string; kind: ZoneKind }[] {
  const zones: { id: string; kind: ZoneKind }[] = [];
  if (config.hostedZoneId) zones.push({ id: config.hostedZoneId, kind: 'public' });
  if (config.privateHostedZoneId) zones.push({ id: config.privateHostedZoneId, kind: 'private' });
  return zones;
}
