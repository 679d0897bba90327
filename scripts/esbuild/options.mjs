// esbuild options for ec2ip's two bundles, shared by scripts/build.mjs and the bench (which
// builds variants with single steps turned off to measure what each one is worth).
import { readFileSync } from 'node:fs';
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

/** The package's version, inlined into the CLI: an installed bundle has no checkout to read it from. */
const VERSION = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;

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
 * The SDK's Node-version notice, silenced first thing in the CLI: the SDK is bundled at a fixed
 * version, so its eight lines about its future releases tell a user nothing, and they would land
 * in every `ec2ip get` and in ssh's output when ec2ip runs as a ProxyCommand. The SDK reads the
 * variable when a client is created; a banner runs before any bundled code, whatever esbuild
 * hoists. A value the user set stays.
 */
const SILENCE_SDK_NODE_WARNING = "process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';";

/**
 * The CLI (dist/cli.mjs): the SDK's full default credential chain (AWS_PROFILE, SSO, …).
 * @param {string} outdir
 * @returns {import('esbuild').BuildOptions}
 */
export function cliOptions(outdir) {
  return {
    ...common,
    banner: { js: `${common.banner.js} ${SILENCE_SDK_NODE_WARNING}` },
    target: 'node20',
    entryPoints: { cli: 'scripts/cli.ts' },
    outdir,
    plugins: [pruneSdkSchemas()],
    define: { EC2IP_VERSION: JSON.stringify(VERSION) },
  };
}

/**
 * The CLI as one CommonJS file (cli-sea.cjs) for a single executable application: Node 22's
 * SEA runs only a CommonJS main script, whose require() reaches only Node's built-ins, so
 * everything is bundled and import.meta.url becomes the executable's own file URL.
 * @param {string} outdir
 * @returns {import('esbuild').BuildOptions}
 */
export function cliSeaOptions(outdir) {
  const cli = cliOptions(outdir);
  return {
    ...cli,
    format: 'cjs',
    // The Node of the executables (scripts/package/node-binaries.mjs).
    target: 'node22',
    // CommonJS has no top-level await: an entry of its own that awaits main() in a promise chain.
    entryPoints: { 'cli-sea': 'scripts/package/sea-main.ts' },
    outExtension: { '.js': '.cjs' },
    sourcemap: false,
    banner: { js: `var __ec2ipImportMetaUrl = require('node:url').pathToFileURL(__filename).href; ${SILENCE_SDK_NODE_WARNING}` },
    define: { ...cli.define, 'import.meta.url': '__ec2ipImportMetaUrl' },
  };
}
