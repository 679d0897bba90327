/** The deployed stack's parameters, read as the environment the Lambda runs with. */
import { DescribeStacksCommand, type CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { explainAwsError, isAccessDenied } from './aws-errors.js';

/** What the stack lookup found; `env` holds the Lambda's variables as the stack sets them. */
export interface StackLookup {
  name: string;
  /** `skipped`: a zone was given by flag or environment, so the stack was not read. */
  status: 'found' | 'missing' | 'denied' | 'skipped';
  env?: Record<string, string>;
}

/** Stack parameter → the Lambda's environment variable (infra/template.yaml). */
const PARAMETERS: Record<string, string> = {
  HostedZoneId: 'HOSTED_ZONE_ID',
  PrivateHostedZoneId: 'PRIVATE_HOSTED_ZONE_ID',
  ParameterPrefix: 'PARAMETER_PREFIX',
  RecordTtl: 'RECORD_TTL',
  OnStop: 'ON_STOP',
  EnableElasticIp: 'ENABLE_ELASTIC_IP',
};

/** DescribeStacks of `name`; a missing stack or a denied read is an answer, not an error. */
export async function readStack(cfn: CloudFormationClient, name: string): Promise<StackLookup> {
  try {
    const stack = (await cfn.send(new DescribeStacksCommand({ StackName: name }))).Stacks?.[0];
    if (!stack) return { name, status: 'missing' };
    const env: Record<string, string> = {};
    for (const p of stack.Parameters ?? []) {
      const variable = p.ParameterKey ? PARAMETERS[p.ParameterKey] : undefined;
      if (variable && p.ParameterValue) env[variable] = p.ParameterValue;
    }
    // The template sets OWNER_ID to the stack's name.
    env.OWNER_ID = stack.StackName ?? name;
    return { name: stack.StackName ?? name, status: 'found', env };
  } catch (error) {
    const e = error as { name?: string; message?: string };
    if (e?.name === 'ValidationError' && /does not exist/i.test(e.message ?? '')) return { name, status: 'missing' };
    if (isAccessDenied(error)) return { name, status: 'denied' };
    throw explainAwsError(error, `reading the stack ${name}`);
  }
}
