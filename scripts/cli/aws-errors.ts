/** Turns SDK errors into messages that say what happened and what to do. */
import { CliError, EXIT } from './errors.js';

/** A CliError for `error`, raised while doing `what` (e.g. "reading /ec2ip/web/public-ip"). */
export function explainAwsError(error: unknown, what: string): CliError {
  const e = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const name = e?.name ?? '';
  if (name === 'CredentialsProviderError' || /Could not load credentials|credential/i.test(e?.message ?? '')) {
    return new CliError(`no AWS credentials found while ${what}: run \`aws configure\`, set AWS_PROFILE or pass --profile`, EXIT.usage, { cause: error });
  }
  if (/Region is missing/i.test(e?.message ?? '')) {
    return new CliError(`no AWS region while ${what}: pass --region or set AWS_REGION`, EXIT.usage, { cause: error });
  }
  if (name === 'AccessDeniedException' || name === 'AccessDenied' || name === 'UnauthorizedOperation' || e?.$metadata?.httpStatusCode === 403) {
    return new CliError(`access denied while ${what}: your credentials lack the permission (${e?.message ?? name})`, EXIT.failed, { cause: error });
  }
  return new CliError(`${what} failed: ${name ? `${name}: ` : ''}${e?.message ?? String(error)}`, EXIT.failed, { cause: error });
}
