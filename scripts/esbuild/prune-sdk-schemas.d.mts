import type { Plugin } from 'esbuild';

/** Default filter: the schema modules of @aws-sdk clients (and nested clients). */
export declare const SCHEMA_MODULE: RegExp;

/** Rewrites `{ [_c]: v }` into `{ "value": v }` for every top-level `const _c = "value";`. */
export declare function inlineComputedKeys(source: string): { code: string; replaced: number };

/** Removes the modeled errors' `registerError` calls, except the service base exception's. */
export declare function dropErrorRegistrations(source: string): { code: string; dropped: number };

export declare function pruneSdkSchemas(options?: {
  filter?: RegExp;
  /** Rewrite the computed keys (default true). */
  inlineKeys?: boolean;
  /** Remove the modeled errors' registrations (default false; the Lambda bundle turns it on). */
  dropErrorClasses?: boolean;
  stats?: Map<string, { before: number; replaced: number; dropped: number }>;
}): Plugin;
