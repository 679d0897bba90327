import type { Plugin } from 'esbuild';

/** Default filter: the files of @aws-sdk, @smithy and @aws packages. */
export declare const SDK_MODULE: RegExp;

/** Rewrites `import("node:x")` (a Node built-in, string literal) into a promise of a namespace-like object built on require(). */
export declare function requireBuiltins(source: string): { code: string; replaced: number };

export declare function requireBuiltinsPlugin(options?: { filter?: RegExp; stats?: Map<string, number> }): Plugin;
