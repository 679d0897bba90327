import type { Plugin } from 'esbuild';

/** Absolute path of the Lambda-only credential chain module. */
export declare const LAMBDA_CREDENTIAL_PROVIDER: string;
export declare function lambdaCredentials(): Plugin;
