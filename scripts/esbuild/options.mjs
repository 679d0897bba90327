// esbuild options for ec2ip's two bundles, shared by scripts/build.mjs and the bench (which
// builds variants with single steps turned off to measure what each one is worth).
import { lambdaCredentials } from './lambda-credentials.mjs';
import { pruneSdkSchemas } from './prune-sdk-schemas.mjs';

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  // The SDK's ES module builds tree-shake far better than its CommonJS ones.
  mainFields: ['module', 'main'],
  minify: true,
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  // Some of the SDK's dependencies still call require() for Node built-ins.
  banner: { js: "import { createRequire as __ec2ipRequire } from 'node:module'; const require = __ec2ipRequire(import.meta.url);" },
  metafile: true,
  outExtension: { '.js': '.mjs' },
};

/**
 * The Lambda bundle (dist/sync/index.mjs when outdir is dist/).
 * @param {string} outdir
 * @param {{ pruneSchemas?: boolean, lambdaCredentials?: boolean, dropErrorClasses?: boolean }} [steps] all on by default
 * @returns {import('esbuild').BuildOptions}
 */
export function lambdaOptions(outdir, steps = {}) {
  const plugins = [];
  // Lets esbuild drop the SDK schemas the code does not use, and the error classes the SDK
  // would only use for instanceof (see prune-sdk-schemas.mjs).
  const inlineKeys = steps.pruneSchemas !== false;
  const dropErrorClasses = steps.dropErrorClasses !== false;
  if (inlineKeys || dropErrorClasses) plugins.push(pruneSdkSchemas({ inlineKeys, dropErrorClasses }));
  // The Lambda runtime provides credentials in the environment (see lambda-credential-provider.mjs).
  if (steps.lambdaCredentials !== false) plugins.push(lambdaCredentials());
  return { ...common, target: 'node22', entryPoints: { 'sync/index': 'functions/sync/index.ts' }, outdir, plugins };
}

/**
 * The CLI (dist/cli.mjs): the SDK's full default credential chain (AWS_PROFILE, SSO, …).
 * @param {string} outdir
 * @returns {import('esbuild').BuildOptions}
 */
export function cliOptions(outdir) {
  return { ...common, target: 'node20', entryPoints: { cli: 'scripts/cli.ts' }, outdir, plugins: [pruneSdkSchemas()] };
}
