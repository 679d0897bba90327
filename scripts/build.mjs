// Bundles the Lambda (dist/sync/index.mjs) with esbuild. The SDK is bundled, not taken
// from the runtime, so the code that runs is the code that was tested.
import { build } from 'esbuild';
import { rm } from 'node:fs/promises';

const outdir = new URL('../dist/', import.meta.url).pathname;
await rm(outdir, { recursive: true, force: true });

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // The SDK's ES module builds tree-shake far better than its CommonJS ones.
  mainFields: ['module', 'main'],
  minify: true,
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  // Some of the SDK's dependencies still call require() for Node built-ins.
  banner: { js: "import { createRequire as __ec2ipRequire } from 'node:module'; const require = __ec2ipRequire(import.meta.url);" },
  metafile: true,
};

const results = await Promise.all([
  build({ ...common, entryPoints: { 'sync/index': 'functions/sync/index.ts' }, outdir, outExtension: { '.js': '.mjs' } }),
  build({ ...common, entryPoints: { cli: 'scripts/cli.ts' }, outdir, outExtension: { '.js': '.mjs' } }),
]);
for (const result of results) {
  for (const [file, meta] of Object.entries(result.metafile.outputs)) {
    if (file.endsWith('.mjs')) console.log(`${file}  ${(meta.bytes / 1024).toFixed(0)} KB`);
  }
}
