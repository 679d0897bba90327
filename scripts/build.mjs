// Bundles the Lambda (dist/sync/index.mjs) and the CLI (dist/cli.mjs) with esbuild. The SDK
// is bundled, not taken from the runtime, so the code that runs is the code that was tested.
// The options (and what each build step is worth) are in scripts/esbuild/.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { build } from 'esbuild';
import { cliOptions, lambdaOptions } from './esbuild/options.mjs';

const outdir = new URL('../dist/', import.meta.url).pathname;
// No clean first, and every output replaced by a rename: a build running beside tests (the
// lifetime test runs `npm start`, which builds) must never leave a moment with no bundle or
// half of one.
const results = await Promise.all([build({ ...lambdaOptions(outdir), write: false }), build({ ...cliOptions(outdir), write: false })]);
for (const result of results) {
  for (const file of result.outputFiles) {
    mkdirSync(dirname(file.path), { recursive: true });
    const temporary = `${file.path}.${process.pid}.tmp`;
    writeFileSync(temporary, file.contents, { mode: file.path.endsWith('cli.mjs') ? 0o755 : 0o644 });
    renameSync(temporary, file.path);
  }
  for (const [file, meta] of Object.entries(result.metafile.outputs)) {
    if (file.endsWith('.mjs')) console.log(`${file}  ${(meta.bytes / 1024).toFixed(0)} KB`);
  }
}
