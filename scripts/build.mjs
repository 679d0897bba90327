// Bundles the Lambda (dist/sync/index.mjs) and the CLI (dist/cli.mjs) with esbuild. The SDK
// is bundled, not taken from the runtime, so the code that runs is the code that was tested.
// The options (and what each build step is worth) are in scripts/esbuild/.
import { build } from 'esbuild';
import { cliOptions, lambdaOptions } from './esbuild/options.mjs';

const outdir = new URL('../dist/', import.meta.url).pathname;
// No clean first: esbuild overwrites its outputs, and a build running beside tests
// must never leave a moment with no bundle.

const results = await Promise.all([build(lambdaOptions(outdir)), build(cliOptions(outdir))]);
for (const result of results) {
  for (const [file, meta] of Object.entries(result.metafile.outputs)) {
    if (file.endsWith('.mjs')) console.log(`${file}  ${(meta.bytes / 1024).toFixed(0)} KB`);
  }
}
