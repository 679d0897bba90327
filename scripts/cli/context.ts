/**
 * What a command runs with: the configuration and the AWS clients. Each setting comes from
 * its flag, else the environment, else the deployed stack's parameters, else the default,
 * and is validated by the same `readConfig` as the Lambda's.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SSMClient } from '@aws-sdk/client-ssm';
import { clientConfig, createClients, type Clients } from '../../functions/adapters/clients.js';
import { zoneName } from '../../functions/adapters/route53.js';
import { configuredZones, readConfig, readRuntime } from '../../functions/core/config.js';
import { zoneNameProblem } from '../../functions/core/names.js';
import { ConfigError } from '../../functions/core/errors.js';
import type { Config, Runtime, Zone } from '../../functions/core/types.js';
import { explainAwsError } from './aws-errors.js';
import { UsageError } from './errors.js';
import type { Io } from './io.js';
import type { CommonValues } from './options.js';
import { readStack, type StackLookup } from './stack-settings.js';

export const DEFAULT_STACK = 'ec2ip';

export interface Context {
  config: Config;
  /** The request timeout and the PutParameter rate (EC2IP_* variables). */
  runtime: Runtime;
  clients: Clients;
  /** What was learnt from the deployed stack. */
  stack: StackLookup;
  /** The configured zones with their names (one GetHostedZone each, once), public first. */
  zones(): Promise<Zone[]>;
}

/**
 * Reads the settings and creates the clients. The deployed stack is read unless what the
 * command needs is given by flag or environment: the zones (default), or only the parameter
 * prefix (`get`, which then makes its one GetParameter and nothing else).
 */
export async function loadContext(values: CommonValues, io: Io, { needs = 'zones' }: { needs?: 'zones' | 'prefix' } = {}): Promise<Context> {
  // Before any client exists: a bad timeout fails here, not as a hang or an error per call.
  const runtime = usage(() => readRuntime(io.env));
  const profile = nonEmpty(values.profile);
  const region = await resolveRegion(values, io, profile);
  const common = clientConfig(io.env, { region, profile, requestTimeoutMs: runtime.requestTimeoutMs });

  const stackName = nonEmpty(values['stack-name']) ?? DEFAULT_STACK;
  const given =
    needs === 'prefix'
      ? [values.prefix, io.env.PARAMETER_PREFIX].some((v) => nonEmpty(v))
      : [values['hosted-zone-id'], values['private-hosted-zone-id'], io.env.HOSTED_ZONE_ID, io.env.PRIVATE_HOSTED_ZONE_ID].some((v) => nonEmpty(v));
  const stack: StackLookup =
    given && values['stack-name'] === undefined ? { name: stackName, status: 'skipped' } : await readStack(new CloudFormationClient(common), stackName);

  // The environment wins over the stack; an empty variable counts as unset.
  const env: Record<string, string | undefined> = { ...stack.env };
  for (const [key, value] of Object.entries(io.env)) if (nonEmpty(value)) env[key] = value;
  const config = usage(() =>
    readConfig(env, {
      region,
      hostedZoneId: values['hosted-zone-id'],
      privateHostedZoneId: values['private-hosted-zone-id'],
      prefix: values.prefix,
      ownerId: values['owner-id'],
      ttl: values.ttl,
    }),
  );

  const clients = createClients(io.env, { region, profile, requestTimeoutMs: runtime.requestTimeoutMs });
  let zones: Promise<Zone[]> | undefined;
  return {
    config,
    runtime,
    clients,
    stack,
    zones: () => (zones ??= resolveZones(clients.route53, config)),
  };
}

/** One line saying where the settings came from, for commands that write or plan. */
export function describeSettings(ctx: Context): string {
  const { config, stack } = ctx;
  const zones = [config.hostedZoneId && `public zone ${config.hostedZoneId}`, config.privateHostedZoneId && `private zone ${config.privateHostedZoneId}`].filter(Boolean);
  const using = `owner ${config.ownerId}, region ${config.region}, prefix ${config.prefix}, ${zones.length > 0 ? zones.join(', ') : 'no zones'}, on stop ${config.onStop}`;
  switch (stack.status) {
    case 'found':
      return `using the settings of stack ${stack.name}: ${using}`;
    case 'missing':
      return `no stack ${stack.name} found; using the environment and defaults: ${using}`;
    case 'denied':
      return `cannot read stack ${stack.name} (access denied); using the environment and defaults: ${using}`;
    case 'skipped':
      return `using ${using}`;
  }
}

/** The region given by flag or environment, without asking the profile (the connect commands' fast path). */
export function givenRegion(values: CommonValues, io: Io): string | undefined {
  return nonEmpty(values.region) ?? nonEmpty(io.env.AWS_REGION) ?? nonEmpty(io.env.AWS_DEFAULT_REGION);
}

async function resolveRegion(values: CommonValues, io: Io, profile: string | undefined): Promise<string> {
  const given = givenRegion(values, io);
  if (given) return given;
  try {
    // The SDK's own lookup: the profile's `region` in ~/.aws/config.
    const region = await new SSMClient(profile ? { profile } : {}).config.region();
    if (region) return region;
  } catch {
    // Reported below with what to do.
  }
  throw new UsageError('no AWS region: pass --region, set AWS_REGION, or set `region` in your AWS profile');
}

async function resolveZones(route53: Route53Client, config: Config): Promise<Zone[]> {
  return Promise.all(
    configuredZones(config).map(async (z) => {
      let name: string;
      try {
        name = await zoneName(route53, z.id);
      } catch (error) {
        throw explainAwsError(error, `reading the ${z.kind} hosted zone ${z.id}`);
      }
      // The name goes into ssh configs and PuTTY sessions: what an endpoint says is checked, not trusted.
      const problem = zoneNameProblem(name);
      if (problem) {
        throw new UsageError(
          `the ${z.kind} hosted zone ${z.id} has the name ${JSON.stringify(name)} (from route53:GetHostedZone), which is not a DNS name: ${problem}. ` +
            'Nothing was written; check --hosted-zone-id and where AWS_ENDPOINT_URL points',
        );
      }
      return { ...z, name };
    }),
  );
}

/** A configuration error is a usage error on the command line: exit 2. */
function usage<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(flagNames(error.message), { cause: error });
    throw error;
  }
}

/** readConfig names environment variables; on the command line the flags are what the user sees. */
export function flagNames(message: string): string {
  return message
    .replace(/^PRIVATE_HOSTED_ZONE_ID=/, '--private-hosted-zone-id / PRIVATE_HOSTED_ZONE_ID=')
    .replace(/^HOSTED_ZONE_ID=/, '--hosted-zone-id / HOSTED_ZONE_ID=')
    .replace(/^PARAMETER_PREFIX=/, '--prefix / PARAMETER_PREFIX=')
    .replace(/^RECORD_TTL=/, '--ttl / RECORD_TTL=')
    .replace(/^OWNER_ID=/, '--owner-id / OWNER_ID=');
}

/** A setting's value, trimmed; an empty one counts as unset. */
export function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
