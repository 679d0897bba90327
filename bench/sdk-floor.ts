/**
 * The cold-start floor: the official SDK alone making the reads the measured event makes, with
 * ec2ip's client settings and the same build (bench/main.ts bundles this file with the Lambda's
 * esbuild options), and none of ec2ip's logic. What this costs cold, no design of ec2ip that
 * keeps the official SDK can go below; the bench checks through a counting proxy that it makes
 * the same calls as the handler.
 */
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { GetParametersByPathCommand, SSMClient } from '@aws-sdk/client-ssm';
import { clientConfig } from '../functions/adapters/clients.js';
import { DEFAULT_REQUEST_TIMEOUT_MS } from '../functions/core/config.js';

const config = clientConfig(process.env, { requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS });
const ec2 = new EC2Client(config);
const route53 = new Route53Client(config);
const ssm = new SSMClient(config);

export async function handler(event: { detail: { 'instance-id': string } }): Promise<{ batchItemFailures: never[] }> {
  const zones = [process.env.HOSTED_ZONE_ID, process.env.PRIVATE_HOSTED_ZONE_ID].filter((z): z is string => Boolean(z));
  const id = event.detail['instance-id'];
  const [instances] = await Promise.all([
    ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: [id] }] })),
    ...zones.map((HostedZoneId) => route53.send(new ListResourceRecordSetsCommand({ HostedZoneId, MaxItems: 300 }))),
    ssm.send(new GetParametersByPathCommand({ Path: process.env.PARAMETER_PREFIX ?? '/ec2ip', Recursive: true, MaxResults: 10 })),
  ]);
  if (!instances.Reservations?.[0]?.Instances?.some((i) => i.InstanceId === id)) throw new Error(`the floor did not find ${id}`);
  return { batchItemFailures: [] };
}
