/** The Node 22 binary's path; fetched from the npm registry and unpacked on first use. */
export function node22(): string;
export const NODE22: string;
export const NODE22_VERSION: string;
