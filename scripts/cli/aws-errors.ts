/** Turns SDK errors into messages that say what happened and what to do. */
import { CliError, EXIT } from './errors.js';

interface SdkError {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/** The credentials were refused permission for the call (IAM, SCP, or a key policy). */
export function isAccessDenied(error: unknown): boolean {
  const e = error as SdkError | undefined;
  const name = e?.name ?? '';
  return (
    name === 'AccessDeniedException' ||
    name === 'AccessDenied' ||
    name === 'UnauthorizedOperation' ||
    name === 'UnauthorizedException' ||
    e?.$metadata?.httpStatusCode === 403
  );
}

/** No credentials could be found, or the ones found are not valid. */
export function isMissingCredentials(error: unknown): boolean {
  const e = error as SdkError | undefined;
  const name = e?.name ?? '';
  return (
    name === 'CredentialsProviderError' ||
    name === 'ExpiredToken' ||
    name === 'ExpiredTokenException' ||
    name === 'UnrecognizedClientException' ||
    name === 'InvalidClientTokenId' ||
    name === 'AuthFailure' ||
    /Could not load credentials|credential/i.test(e?.message ?? '')
  );
}

/** A CliError for `error`, raised while doing `what` (e.g. "reading /ec2ip/web/public-ip"). */
export function explainAwsError(error: unknown, what: string): CliError {
  if (error instanceof CliError) return error;
  const e = error as SdkError | undefined;
  const name = e?.name ?? '';
  const message = e?.message ?? String(error);
  if (isMissingCredentials(error)) {
    return new CliError(
      `no usable AWS credentials while ${what} (${name || 'error'}: ${message}): run \`aws configure\` or \`aws sso login\`, set AWS_PROFILE or pass --profile`,
      EXIT.usage,
      { cause: error },
    );
  }
  if (/Region is missing/i.test(message)) {
    return new CliError(`no AWS region while ${what}: pass --region or set AWS_REGION`, EXIT.usage, { cause: error });
  }
  if (isAccessDenied(error)) {
    return new CliError(`access denied while ${what}: your credentials lack the permission (${message})`, EXIT.failed, { cause: error });
  }
  if (name === 'NoSuchHostedZone') {
    return new CliError(
      `${what} failed: the hosted zone does not exist (check --hosted-zone-id, --private-hosted-zone-id, the environment and the stack's parameters)`,
      EXIT.usage,
      { cause: error },
    );
  }
  if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|TimeoutError/.test(`${name} ${message}`)) {
    return new CliError(`${what} failed: cannot reach AWS (${message}); check your network, AWS_ENDPOINT_URL and --region`, EXIT.failed, { cause: error });
  }
  return new CliError(`${what} failed: ${name ? `${name}: ` : ''}${message}`, EXIT.failed, { cause: error });
}
