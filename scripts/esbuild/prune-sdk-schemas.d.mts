import type { Plugin } from 'esbuild';

/** Default filter: the schema modules of @aws-sdk clients (and nested clients). */
export declare const SCHEMA_MODULE: RegExp;

/** Rewrites `{ [_c]: v }` into `{ "value": v }` for every top-level `const _c = "value";`. */
export declare function inlineComputedKeys(source: string): { code: string; replaced: number };

export declare function pruneSdkSchemas(options?: { filter?: RegExp; stats?: Map<string, { before: number; replaced: number }> }): Plugin;
