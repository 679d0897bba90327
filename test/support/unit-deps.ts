/**
 * The pieces of the sync loop's dependencies that the handler and engine unit tests share: the
 * three SDK clients with dummy credentials (aws-sdk-client-mock answers them), and metrics whose
 * EMF lines go to the test instead of stdout.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Clients } from '../../functions/adapters/clients.js';
import { Metrics } from '../../functions/core/metrics.js';

/** Dummy credentials: the mocked clients never sign for real AWS. */
export const TEST_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

/** EC2, Route 53 and SSM clients in `region`, for `mockClient(EC2Client)` and its siblings to answer. */
export function mockedClients(region = 'us-east-1'): Clients {
  const config = { region, credentials: TEST_CREDENTIALS };
  return { ec2: new EC2Client(config), route53: new Route53Client(config), ssm: new SSMClient(config) };
}

/** Metrics whose flushed EMF lines are parsed into `into` (or dropped without it). */
export function capturedMetrics(into?: Record<string, unknown>[]): Metrics {
  const metrics = new Metrics('ec2ip', 'ec2ip');
  const flush = metrics.flush.bind(metrics);
  metrics.flush = () => flush((line) => void into?.push(JSON.parse(line)));
  return metrics;
}
