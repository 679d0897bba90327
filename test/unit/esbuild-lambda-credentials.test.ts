/** The Lambda bundle's credential chain (environment first) and the clients' use of fromEnv. */
import { build } from 'esbuild';
import { afterEach, describe, expect, it } from 'vitest';
import { envCredentials } from '../../functions/adapters/clients.js';
import { defaultProvider } from '../../scripts/esbuild/lambda-credential-provider.mjs';
import { LAMBDA_CREDENTIAL_PROVIDER, lambdaCredentials } from '../../scripts/esbuild/lambda-credentials.mjs';

const KEYS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI'];
const saved = Object.fromEntries(KEYS.map((k) => [k, process.env[k]]));
afterEach(() => {
  for (const k of KEYS) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

describe('the Lambda credential chain', () => {
  it('answers with the credentials the Lambda runtime puts in the environment', async () => {
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret', AWS_SESSION_TOKEN: 'token' });
    await expect(defaultProvider()()).resolves.toMatchObject({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token' });
  });

  it('fails with a clear message without them', async () => {
    for (const k of KEYS) delete process.env[k];
    await expect(defaultProvider()()).rejects.toThrow(/AWS_ACCESS_KEY_ID/);
  });

  it('replaces @aws-sdk/credential-provider-node in a bundle, and the other providers go', async () => {
    const bundle = async (plugins: ReturnType<typeof lambdaCredentials>[]) => {
      const result = await build({
        stdin: { contents: "export { SSMClient } from '@aws-sdk/client-ssm';", resolveDir: process.cwd(), loader: 'js' },
        bundle: true, platform: 'node', format: 'esm', mainFields: ['module', 'main'], write: false, metafile: true, logLevel: 'silent', plugins,
      });
      return Object.keys(result.metafile.inputs);
    };
    const [plain, lambda] = await Promise.all([bundle([]), bundle([lambdaCredentials()])]);
    expect(plain.some((p) => p.includes('credential-provider-ini'))).toBe(true);
    expect(lambda.some((p) => p.includes('credential-provider-node') || p.includes('credential-provider-ini') || p.includes('credential-provider-sso'))).toBe(false);
    expect(lambda.some((p) => LAMBDA_CREDENTIAL_PROVIDER.endsWith(p.replace(/^.*scripts\//, 'scripts/')))).toBe(true);
  });
});

describe('envCredentials (clients.ts)', () => {
  it('uses the environment when both keys are set and no profile is asked for', () => {
    expect(envCredentials({ AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b' })).toBe(true);
    expect(envCredentials({ AWS_ACCESS_KEY_ID: 'a' })).toBe(false);
    // The CLI with a profile keeps the SDK's default chain, which skips the environment then.
    expect(envCredentials({ AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b', AWS_PROFILE: 'dev' })).toBe(false);
  });
});
