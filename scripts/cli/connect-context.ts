/**
 * The settings and clients of the commands that connect (`proxy`, `ssh`, `start`, `stop`):
 * only SSM and EC2, and no CloudFormation read when the prefix is given (a generated
 * ProxyCommand always passes it), because `proxy` runs on every connection.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { clientConfig } from '../../functions/adapters/clients.js';
import { readConfig, readRuntime, readTestPublishGraceMs } from '../../functions/core/config.js';
import { ConfigError } from '../../functions/core/errors.js';
import { DEFAULT_STACK, flagNames, givenRegion, loadContext, nonEmpty } from './context.js';
import { UsageError } from './errors.js';
import type { Io } from './io.js';
import type { CommonValues } from './options.js';

export interface ConnectContext {
  region: string;
  profile: string | undefined;
  prefix: string;
  /** The stack whose function publishes: named in the warning when nothing is published. */
  stackName: string;
  ssm: SSMClient;
  ec2: EC2Client;
  /** Tests only (readTestPublishGraceMs): a shorter wait for a published address than PUBLISH_GRACE_MS. */
  publishGraceOverrideMs: number | undefined;
}

export async function loadConnectContext(values: CommonValues, io: Io): Promise<ConnectContext> {
  const profile = nonEmpty(values.profile);
  const stackName = nonEmpty(values['stack-name']) ?? DEFAULT_STACK;
  let region = givenRegion(values, io);
  let prefix = nonEmpty(values.prefix) ?? nonEmpty(io.env.PARAMETER_PREFIX);
  if (!region || !prefix) {
    // The slow path: the profile's region and the stack's prefix, as every other command reads
    // them. (A static import: a dynamic one would make esbuild wrap the SDK modules it reaches,
    // which keeps every EC2 schema in the bundle, 0.9 MB the proxy would compile each time.)
    const ctx = await loadContext(values, io, { needs: 'prefix' });
    region = ctx.config.region;
    prefix = ctx.config.prefix;
  } else {
    try {
      prefix = readConfig({ PARAMETER_PREFIX: prefix }, { region }).prefix;
    } catch (error) {
      if (error instanceof ConfigError) throw new UsageError(flagNames(error.message), { cause: error });
      throw error;
    }
  }
  const { requestTimeoutMs } = readRuntime(io.env);
  const common = clientConfig(io.env, { region, profile, requestTimeoutMs });
  return { region, profile, prefix, stackName, ssm: new SSMClient(common), ec2: new EC2Client(common), publishGraceOverrideMs: readTestPublishGraceMs(io.env) };
}
