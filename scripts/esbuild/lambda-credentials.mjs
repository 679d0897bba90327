// An esbuild plugin for the Lambda bundle: resolves @aws-sdk/credential-provider-node (imported
// by every client's runtimeConfig for its default credential chain) to
// lambda-credential-provider.mjs, an environment-first chain without the providers that cannot
// answer inside Lambda. See that file for what is kept.
import { fileURLToPath } from 'node:url';

export const LAMBDA_CREDENTIAL_PROVIDER = fileURLToPath(new URL('./lambda-credential-provider.mjs', import.meta.url));

/** @returns {import('esbuild').Plugin} */
export function lambdaCredentials() {
  return {
    name: 'lambda-credentials',
    setup(build) {
      build.onResolve({ filter: /^@aws-sdk\/credential-provider-node$/ }, () => ({ path: LAMBDA_CREDENTIAL_PROVIDER }));
    },
  };
}
