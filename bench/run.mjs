// `npm run bench`: compiles the bench (TypeScript) with esbuild into dist/bench/ and runs it.
// Arguments pass through, e.g. `npm run bench -- --only cold --runs 5`.
import { build } from 'esbuild';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const outfile = new URL('../.tmp/bench/main.mjs', import.meta.url).pathname;
await build({
  entryPoints: [new URL('./main.ts', import.meta.url).pathname],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'inline',
  logLevel: 'warning',
});
await import(outfile);
