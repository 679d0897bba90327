// An esbuild plugin for the Lambda bundle: turns the SDK's dynamic imports of Node built-ins
// (`await import("node:http")`) into require() calls.
//
// Why: on Node 22, importing `node:http` as an ES module builds its ES module facade, which
// reads every export of the module, and `http`'s lazy `WebSocket`, `CloseEvent` and
// `MessageEvent` getters then load all of undici (about 10 ms of CPU at a cold start).
// require() returns the same module object without building the facade, so nothing else
// loads. @smithy/node-http-handler imports `node:http` this way on the first plain-http
// request (a local emulator; AWS itself is always https), and @smithy/core does for the
// instance metadata region lookup.
//
// The promise resolves to an object that looks like the module namespace: `default` is the
// module, and every named export is reachable through its prototype (the module itself), so
// `const { request } = await import("node:http")` and `(await import("node:http")).default`
// both keep working, and no lazy getter runs before the code reads it.
//
// Only string-literal specifiers that name a Node built-in are rewritten; in an ES module
// bundle esbuild turns the inserted `require` into its `__require` shim (the bundle's banner
// provides `require`).
import { readFile } from 'node:fs/promises';
import { isBuiltin } from 'node:module';

const DYNAMIC_IMPORT = /\bimport\(\s*(["'])([^"'\\\n]+)\1\s*\)/g;

/**
 * Rewrites `import("node:x")` (a built-in) into a promise of a namespace-like object built on require().
 * @param {string} source
 * @returns {{ code: string, replaced: number }}
 */
export function requireBuiltins(source) {
  let replaced = 0;
  const code = source.replace(DYNAMIC_IMPORT, (whole, quote, specifier) => {
    if (!isBuiltin(specifier)) return whole;
    replaced++;
    return `Promise.resolve().then(() => { const m = require(${JSON.stringify(specifier)}); return Object.setPrototypeOf({ default: m }, m); })`;
  });
  return { code, replaced };
}

/** Default: the SDK's files (@aws-sdk, @smithy, and @aws/lambda-invoke-store). */
export const SDK_MODULE = /[\\/]node_modules[\\/]@(?:smithy|aws-sdk|aws)[\\/].*\.m?js$/;

/**
 * @param {{ filter?: RegExp, stats?: Map<string, number> }} [options]
 *   `stats`, when given, receives per rewritten module the number of imports rewritten.
 * @returns {import('esbuild').Plugin}
 */
export function requireBuiltinsPlugin(options = {}) {
  const filter = options.filter ?? SDK_MODULE;
  return {
    name: 'require-builtins',
    setup(build) {
      build.onLoad({ filter }, async (args) => {
        const source = await readFile(args.path, 'utf8');
        if (!source.includes('import(')) return undefined;
        const { code, replaced } = requireBuiltins(source);
        if (replaced === 0) return undefined;
        options.stats?.set(args.path, replaced);
        return { contents: code, loader: 'js' };
      });
    },
  };
}
