/**
 * Bundled twice by test/integration/sdk-error-names.test.ts: once as the Lambda is (the SDK's
 * error classes dropped) and once with them. Each case makes AWS (moto, or the fault proxy in
 * front of it) answer with an error, through ec2ip's own client settings, and returns what
 * ec2ip's code can read of the error. Both builds must return the same.
 */
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { ChangeResourceRecordSetsCommand, ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { clientConfig, type Clients } from '../../functions/adapters/clients.js';
import { readRuntime } from '../../functions/core/config.js';
import { errorMessage } from '../../functions/core/errors.js';
import { isRejectedBatch } from '../../functions/adapters/route53.js';

export interface ProbedError {
  case: string;
  name: string;
  message: string;
  /** What ec2ip logs for it. */
  logged: string;
  fault: unknown;
  status: number | undefined;
  attempts: number | undefined;
  retryable: unknown;
  rejectedBatch: boolean;
  isError: boolean;
}

type Case = [string, (c: Clients) => Promise<unknown>];

export async function probeErrors(env: Record<string, string | undefined>, zoneId: string, only?: readonly string[]): Promise<ProbedError[]> {
  // ec2ip's client settings, with the endpoint and attempts of `env` (the SDK would read
  // AWS_ENDPOINT_URL and AWS_MAX_ATTEMPTS from process.env).
  const config = {
    ...clientConfig(env, { region: 'us-east-1', requestTimeoutMs: readRuntime(env).requestTimeoutMs }),
    endpoint: env.AWS_ENDPOINT_URL,
    ...(env.AWS_MAX_ATTEMPTS ? { maxAttempts: Number(env.AWS_MAX_ATTEMPTS) } : {}),
  };
  const c: Clients = { ec2: new EC2Client(config), route53: new Route53Client(config), ssm: new SSMClient(config) };
  const record = { Name: 'probe.example.com', Type: 'TXT' as const, TTL: 60, ResourceRecords: [{ Value: '"a"' }] };
  const change = (Action: 'CREATE' | 'DELETE' | 'UPSERT', values = ['"a"']) =>
    new ChangeResourceRecordSetsCommand({ HostedZoneId: zoneId, ChangeBatch: { Changes: [{ Action, ResourceRecordSet: { ...record, ResourceRecords: values.map((Value) => ({ Value })) } }] } });
  const cases: Case[] = [
    ['route53: CREATE of an existing record', async ({ route53 }) => { await route53.send(change('UPSERT')); return route53.send(change('CREATE')); }],
    ['route53: DELETE of values that do not match', ({ route53 }) => route53.send(change('DELETE', ['"other"']))],
    ['route53: a zone that does not exist', ({ route53 }) => route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: 'Z0000000000NOSUCHZONE' }))],
    ['ssm: a parameter that does not exist', ({ ssm }) => ssm.send(new GetParameterCommand({ Name: '/ec2ip-probe/none' }))],
    ['ssm: a parameter that exists, without Overwrite', async ({ ssm }) => { await ssm.send(new PutParameterCommand({ Name: '/ec2ip-probe/x', Value: 'a', Type: 'String', Overwrite: true })); return ssm.send(new PutParameterCommand({ Name: '/ec2ip-probe/x', Value: 'a', Type: 'String' })); }],
    ['ec2: an instance that does not exist', ({ ec2 }) => ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] }))],
    ['ssm: throttled', ({ ssm }) => ssm.send(new GetParameterCommand({ Name: '/ec2ip-probe/x' }))],
    ['route53: throttled', ({ route53 }) => route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }))],
    ['ssm: internal error', ({ ssm }) => ssm.send(new GetParameterCommand({ Name: '/ec2ip-probe/x' }))],
    ['route53: internal error', ({ route53 }) => route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }))],
  ];
  const out: ProbedError[] = [];
  for (const [name, run] of cases) {
    if (only && !only.includes(name)) continue;
    try {
      await run(c);
      throw new Error(`${name}: no error was thrown`);
    } catch (error) {
      const e = error as Error & { $fault?: unknown; $metadata?: { httpStatusCode?: number; attempts?: number }; $retryable?: unknown };
      out.push({
        case: name,
        name: e.name,
        message: e.message,
        logged: errorMessage(e),
        fault: e.$fault,
        status: e.$metadata?.httpStatusCode,
        attempts: e.$metadata?.attempts,
        retryable: e.$retryable,
        rejectedBatch: isRejectedBatch(e),
        isError: e instanceof Error,
      });
    }
  }
  return out;
}
