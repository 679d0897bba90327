import { EC2Client } from '@aws-sdk/client-ec2';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { fromEnv } from '@aws-sdk/credential-provider-env';

/** The three SDK clients ec2ip uses; created once at module scope and passed into the adapters. */
export interface Clients {
  ec2: EC2Client;
  route53: Route53Client;
  ssm: SSMClient;
}

const DEFAULT_MAX_ATTEMPTS = 4;

/**
 * True when the credentials are in the environment and the SDK's default chain would use them:
 * always inside Lambda. The default chain skips the environment when AWS_PROFILE is set (the
 * CLI with a profile), so then it is left to the chain.
 */
export function envCredentials(env: Record<string, string | undefined>): boolean {
  return Boolean(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY && !env.AWS_PROFILE);
}

/** Where the clients point, whose credentials they use and how long a request may take; the rest comes from the environment. */
export interface ClientOptions {
  /** Per-request timeout (EC2IP_REQUEST_TIMEOUT_MS, read by readRuntime in core/config.ts). */
  requestTimeoutMs: number;
  region?: string | undefined;
  /** A named profile (the CLI's --profile); it wins over credentials in the environment. */
  profile?: string | undefined;
}

/**
 * Settings for any SDK client of ec2ip: an explicit request timeout (the SDK has none by
 * default, so a stalled call would hang until the Lambda times out) and retry settings that
 * `AWS_MAX_ATTEMPTS` and `AWS_RETRY_MODE` override (the SDK reads those only when the code
 * leaves them unset). Endpoint, region and credentials come from the SDK's standard
 * environment; credentials in the environment are read directly (fromEnv), without the
 * default chain's other providers.
 */
export function clientConfig(env: Record<string, string | undefined>, { region, profile, requestTimeoutMs: requestTimeout }: ClientOptions) {
  return {
    ...(region ? { region } : {}),
    ...(profile ? { profile } : {}),
    ...(env.AWS_MAX_ATTEMPTS ? {} : { maxAttempts: DEFAULT_MAX_ATTEMPTS }),
    ...(env.AWS_RETRY_MODE ? {} : { retryMode: 'standard' }),
    requestHandler: { requestTimeout, connectionTimeout: Math.min(requestTimeout, 3000), throwOnRequestTimeout: true },
    ...(!profile && envCredentials(env) ? { credentials: fromEnv() } : {}),
  };
}

/** The three clients, with `clientConfig`'s settings. */
export function createClients(env: Record<string, string | undefined>, options: ClientOptions): Clients {
  const common = clientConfig(env, options);
  return {
    ec2: new EC2Client(common),
    // Route 53 is a global service whose API lives in us-east-1; the SDK resolves that itself.
    route53: new Route53Client(common),
    ssm: new SSMClient(common),
  };
}

/**
 * The Lambda's SQS client, for giving failed items their retry delay (ChangeMessageVisibility),
 * with `clientConfig`'s settings. It sends every request to its own endpoint (the region's, or
 * AWS_ENDPOINT_URL) rather than to the host of the queue URL, so the endpoint settings hold.
 */
export function createSqsClient(env: Record<string, string | undefined>, options: ClientOptions): SQSClient {
  return new SQSClient({ ...clientConfig(env, options), useQueueUrlAsEndpoint: false });
}
