import { ConfigError } from './errors.js';
import { spokeNamePatternProblem, templateProblem } from './names.js';
import type { Config, HubConfig, LogLevel, Runtime, Spoke, ZoneKind } from './types.js';

const ZONE_ID = /^(?:\/hostedzone\/)?([A-Z0-9]{1,32})$/;
const PREFIX = /^(\/[a-zA-Z0-9_.-]+)+$/;
const OWNER = /^[A-Za-z0-9_.-]{1,128}$/;
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;
const ACCOUNT = /^\d{12}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const STACK_SET = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;

/** The defaults of the settings that are not in Config (docs/configuration.md). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 5000;
/** SSM's standard throughput: about 3 PutParameter calls per second per account. */
export const DEFAULT_PUT_PARAMETER_RATE = 3;

type Env = Record<string, string | undefined>;

/** A variable's value, trimmed; an empty one counts as unset. */
function setting(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

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
export function readConfig(env: Env, overrides: ConfigOverrides = {}): Config {
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
  const hub = readHub(env, region);
  if (hub) config.hub = hub;
  if (eipText === 'true') config.elasticIp = true;
  if (hostedZoneId) config.hostedZoneId = hostedZoneId;
  if (privateHostedZoneId) config.privateHostedZoneId = privateHostedZoneId;
  return config;
}

/**
 * Hub mode (SPEC "Deployment"): on when SPOKE_ROLE_NAME is set. The spokes are listed in
 * SPOKES (`<account>:<region>`, comma- or space-separated) or found from the stack instances
 * of SPOKE_STACK_SET; SPOKE_EXTERNAL_ID is required; NAME_TEMPLATE shapes the record names.
 */
function readHub(env: Env, region: string): HubConfig | undefined {
  const pick = (name: string): string | undefined => setting(env, name);
  // Checked even in single-account mode, where it does nothing: a typo is refused, not ignored.
  const callAsText = pick('SPOKE_STACK_SET_CALL_AS');
  const callAs = (callAsText ?? 'SELF').toUpperCase();
  if (callAs !== 'SELF' && callAs !== 'DELEGATED_ADMIN') {
    throw new ConfigError(`SPOKE_STACK_SET_CALL_AS="${callAsText}" is not supported: use "SELF" (the StackSet is this account's) or "DELEGATED_ADMIN" (this account is a delegated administrator of the organization's StackSet)`);
  }
  const roleName = pick('SPOKE_ROLE_NAME');
  if (!roleName) {
    // SPOKE_STACK_SET_CALL_AS is left out: hub.yaml always sets it (SELF by default).
    const stray = ['SPOKE_EXTERNAL_ID', 'SPOKES', 'SPOKE_STACK_SET', 'NAME_TEMPLATE', 'SPOKE_NAMES'].find((name) => pick(name) !== undefined);
    if (stray) throw new ConfigError(`${stray} is set but SPOKE_ROLE_NAME is not: the hub settings need the name of the role to assume in each spoke (or unset ${stray} for single-account mode)`);
    return undefined;
  }
  if (!ROLE_NAME.test(roleName)) throw new ConfigError(`SPOKE_ROLE_NAME="${roleName}" is not a role name: use 1-64 of A-Z a-z 0-9 + = , . @ _ -`);
  const externalId = readSpokeExternalId(env);
  if (!externalId) throw new ConfigError(`SPOKE_EXTERNAL_ID= is not set: ${EXTERNAL_ID_RULE}`);
  const spokesText = pick('SPOKES');
  const stackSet = pick('SPOKE_STACK_SET');
  if (!spokesText && !stackSet) throw new ConfigError('SPOKES and SPOKE_STACK_SET are both unset: list the spokes as SPOKES="111111111111:us-east-1,222222222222:eu-west-1", or name the StackSet whose stack instances are the spokes');
  if (stackSet && !STACK_SET.test(stackSet)) throw new ConfigError(`SPOKE_STACK_SET="${stackSet}" is not a StackSet name: a letter, then up to 127 of A-Z a-z 0-9 -`);
  const nameTemplate = pick('NAME_TEMPLATE') ?? '{name}';
  const problem = templateProblem(nameTemplate);
  if (problem) throw new ConfigError(`NAME_TEMPLATE="${nameTemplate}" is not usable: ${problem}`);
  const hub: HubConfig = { roleName, externalId, nameTemplate, partition: partitionOf(region) };
  if (spokesText) hub.spokes = parseSpokes(spokesText);
  if (stackSet) hub.stackSet = stackSet;
  if (callAs === 'DELEGATED_ADMIN') hub.callAs = callAs;
  const spokeNamesText = pick('SPOKE_NAMES');
  if (spokeNamesText !== undefined) hub.spokeNames = parseSpokeNames(spokeNamesText);
  return hub;
}

const EXTERNAL_ID_RULE = 'a hub needs the external id its spoke roles demand, 2-1224 of A-Z a-z 0-9 + = , . @ : / _ -';

/** SPOKE_EXTERNAL_ID, validated; undefined when unset. The hub's settings and `ec2ip deploy` (its default for --spoke-external-id) read it. */
export function readSpokeExternalId(env: Env): string | undefined {
  const externalId = setting(env, 'SPOKE_EXTERNAL_ID');
  if (externalId !== undefined && !EXTERNAL_ID.test(externalId)) throw new ConfigError(`SPOKE_EXTERNAL_ID="${externalId}" is not usable: ${EXTERNAL_ID_RULE}`);
  return externalId;
}

/**
 * Tests only: how long the CLI's connect commands wait for a freshly published address before
 * they use EC2's (`EC2IP_TEST_ONLY_PUBLISH_GRACE_MS`, so the fallback runs in seconds). Not a
 * user setting: the function publishes within seconds and 60 s is its margin. Undefined: unset.
 */
export function readTestPublishGraceMs(env: Env): number | undefined {
  const text = setting(env, 'EC2IP_TEST_ONLY_PUBLISH_GRACE_MS');
  if (text === undefined) return undefined;
  const ms = Number(text);
  if (!/^\d+$/.test(text) || ms < 1) throw new ConfigError(`EC2IP_TEST_ONLY_PUBLISH_GRACE_MS="${text}" is not a wait: give a whole number of milliseconds from 1 (tests only; unset it otherwise)`);
  return ms;
}

/**
 * How the process talks to AWS (docs/configuration.md), for the Lambda and the CLI alike.
 * Throws a ConfigError that names the variable, quotes the value and says what a valid one is.
 */
export function readRuntime(env: Env): Runtime {
  const timeoutText = setting(env, 'EC2IP_REQUEST_TIMEOUT_MS');
  const requestTimeoutMs = timeoutText === undefined ? DEFAULT_REQUEST_TIMEOUT_MS : Number(timeoutText);
  // setTimeout's limit; 0 would be no timeout at all, the very thing the setting prevents.
  if (timeoutText !== undefined && (!/^\d+$/.test(timeoutText) || requestTimeoutMs < 1 || requestTimeoutMs > 2147483647)) {
    throw new ConfigError(`EC2IP_REQUEST_TIMEOUT_MS="${timeoutText}" is not a timeout: give a whole number of milliseconds from 1, e.g. ${DEFAULT_REQUEST_TIMEOUT_MS}`);
  }
  const rateText = setting(env, 'EC2IP_PUT_PARAMETER_RATE');
  const putParameterRate = rateText === undefined ? DEFAULT_PUT_PARAMETER_RATE : Number(rateText);
  if (rateText !== undefined && (!/^\d+(\.\d+)?$/.test(rateText) || !Number.isFinite(putParameterRate) || putParameterRate <= 0)) {
    throw new ConfigError(
      `EC2IP_PUT_PARAMETER_RATE="${rateText}" is not a rate: give PutParameter calls per second, a number above 0 such as ${DEFAULT_PUT_PARAMETER_RATE} or 1.5 (more with SSM's higher throughput setting)`,
    );
  }
  return { requestTimeoutMs, putParameterRate };
}

/** Lambda's advanced logging controls have six levels; the logger has four. */
const LAMBDA_LEVELS: Record<string, LogLevel> = { TRACE: 'DEBUG', DEBUG: 'DEBUG', INFO: 'INFO', WARN: 'WARN', ERROR: 'ERROR', FATAL: 'ERROR' };

/**
 * The function's log level: LOG_LEVEL, else the level Lambda's logging configuration sets
 * (AWS_LAMBDA_LOG_LEVEL), else INFO. The CLI does not read it: LOG_LEVEL is a common name
 * in a shell, and the CLI has --verbose.
 */
export function readLogLevel(env: Env): LogLevel {
  const given = setting(env, 'LOG_LEVEL');
  if (given !== undefined) {
    const level = given.toUpperCase();
    if (level === 'DEBUG' || level === 'INFO' || level === 'WARN' || level === 'ERROR') return level;
    throw new ConfigError(`LOG_LEVEL="${given}" is not a log level: use DEBUG, INFO, WARN or ERROR`);
  }
  const lambda = setting(env, 'AWS_LAMBDA_LOG_LEVEL');
  if (lambda === undefined) return 'INFO';
  const level = LAMBDA_LEVELS[lambda.toUpperCase()];
  if (!level) throw new ConfigError(`AWS_LAMBDA_LOG_LEVEL="${lambda}" is not a log level: Lambda sets TRACE, DEBUG, INFO, WARN, ERROR or FATAL (or set LOG_LEVEL instead)`);
  return level;
}

/**
 * Reads SPOKE_NAMES: `<account>:<pattern>|<pattern>…` entries separated by commas or spaces,
 * e.g. `111111111111:*.dev,222222222222:web|api`. Each account once.
 */
export function parseSpokeNames(text: string): Map<string, string[]> {
  const rules = new Map<string, string[]>();
  const example = 'e.g. SPOKE_NAMES="111111111111:*.dev,222222222222:web|api"';
  for (const entry of text.split(/[\s,]+/).filter(Boolean)) {
    const colon = entry.indexOf(':');
    const account = colon < 0 ? entry : entry.slice(0, colon);
    const patterns = colon < 0 ? [] : entry.slice(colon + 1).split('|');
    if (!ACCOUNT.test(account) || patterns.length === 0 || patterns.some((p) => p === '')) {
      throw new ConfigError(`SPOKE_NAMES="${text}" has "${entry}": each entry is <12-digit account>:<name pattern>|<name pattern>…, ${example}`);
    }
    const problem = patterns.map(spokeNamePatternProblem).find((p) => p !== undefined);
    if (problem) throw new ConfigError(`SPOKE_NAMES="${text}": ${problem}`);
    if (rules.has(account)) throw new ConfigError(`SPOKE_NAMES="${text}" lists account ${account} twice: give each account one entry with its patterns joined by |`);
    rules.set(account, patterns);
  }
  if (rules.size === 0) throw new ConfigError(`SPOKE_NAMES is set but empty: list the names each account may claim, ${example}, or unset it`);
  return rules;
}

/** Reads a SPOKES list: `<account>:<region>` entries separated by commas or spaces. */
export function parseSpokes(text: string): Spoke[] {
  const spokes: Spoke[] = [];
  for (const entry of text.split(/[\s,]+/).filter(Boolean)) {
    const [account = '', region = '', ...rest] = entry.split(':');
    if (!ACCOUNT.test(account) || !REGION.test(region) || rest.length > 0) {
      throw new ConfigError(`SPOKES has "${entry}": each entry is <12-digit account>:<region>, e.g. 111111111111:us-east-1`);
    }
    if (!spokes.some((s) => s.account === account && s.region === region)) spokes.push({ account, region });
  }
  if (spokes.length === 0) throw new ConfigError('SPOKES is empty: list at least one <account>:<region>');
  return spokes;
}

/** The partition of a region, for role ARNs. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/** The zones the configuration names, the public one first. */
export function configuredZones(config: Config): { id: string; kind: ZoneKind }[] {
  const zones: { id: string; kind: ZoneKind }[] = [];
  if (config.hostedZoneId) zones.push({ id: config.hostedZoneId, kind: 'public' });
  if (config.privateHostedZoneId) zones.push({ id: config.privateHostedZoneId, kind: 'private' });
  return zones;
}
