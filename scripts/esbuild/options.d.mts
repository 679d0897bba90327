import type { BuildOptions } from 'esbuild';

export declare function lambdaOptions(outdir: string, steps?: { pruneSchemas?: boolean; lambdaCredentials?: boolean; dropErrorClasses?: boolean }): BuildOptions;
export declare function cliOptions(outdir: string): BuildOptions;
