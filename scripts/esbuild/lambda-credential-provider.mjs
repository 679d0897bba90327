// Stands in for @aws-sdk/credential-provider-node in the Lambda bundle only (the CLI keeps the
// SDK's full default chain). The Lambda runtime always puts the function's role credentials in
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, so the chain's SSO, ini-file,
// process, web-identity and IMDS links (and the nested STS/SSO clients they pull in, ~95 KB
// minified) can never answer there. Kept: the environment, then the container credentials
// endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI / _RELATIVE_URI), which a container-based
// runtime could use instead.
import { fromEnv } from '@aws-sdk/credential-provider-env';
import { fromHttp } from '@aws-sdk/credential-provider-http';
import { CredentialsProviderError } from '@smithy/core/config';

/** Same signature as the SDK's defaultProvider(init). */
export const defaultProvider = (init = {}) => async () => {
  const env = process.env;
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) return fromEnv(init)();
  if (env.AWS_CONTAINER_CREDENTIALS_FULL_URI || env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI) return fromHttp(init)();
  throw new CredentialsProviderError(
    'ec2ip (Lambda build) found no credentials: expected AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (the Lambda runtime sets them) or a container credentials endpoint',
    { logger: init.logger, tryNextLink: false },
  );
};

export const credentialsWillNeedRefresh = (credentials) => credentials?.expiration !== undefined;
export const credentialsTreatedAsExpired = (credentials) =>
  credentials?.expiration !== undefined && credentials.expiration.getTime() - Date.now() < 300000;
