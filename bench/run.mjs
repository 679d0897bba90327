// `npm run bench`: compiles the bench (TypeScript) with esbuild into dist/bench/ and runs it.
// Arguments pass through, e.g. `npm run bench -- --only cold --runs 5`.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
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
  // The build's own modules stay where they are: lambda-credentials.mjs finds its provider
  // file next to itself, which it would not from .tmp/bench/.
  plugins: [
    {
      name: 'external-build-scripts',
      setup(b) {
        b.onResolve({ filter: /[\\/]scripts[\\/]esbuild[\\/][^\\/]+\.mjs$/ }, (a) => ({ path: pathToFileURL(resolve(a.resolveDir, a.path)).href, external: true }));
      },
    },
  ],
});
await import(outfile);
