/** Flags every command shares, and parsing that turns a bad flag into a usage error. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.js';

export const COMMON_OPTIONS = {
  region: { type: 'string' },
  profile: { type: 'string' },
  prefix: { type: 'string' },
  'hosted-zone-id': { type: 'string' },
  'private-hosted-zone-id': { type: 'string' },
  'owner-id': { type: 'string' },
  ttl: { type: 'string' },
  'stack-name': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

export const COMMON_HELP = `Common options:
  --region R                   AWS region (else AWS_REGION, AWS_PROFILE's region)
  --profile P                  AWS profile (else AWS_PROFILE)
  --prefix /P                  SSM parameter prefix (else PARAMETER_PREFIX, the stack's, /ec2ip)
  --hosted-zone-id Z           public zone (else HOSTED_ZONE_ID, the stack's)
  --private-hosted-zone-id Z   private zone (else PRIVATE_HOSTED_ZONE_ID, the stack's)
  --owner-id ID                owner of the records (else OWNER_ID, the stack name)
  --ttl SECONDS                record TTL (else RECORD_TTL, 60)
  --stack-name NAME            the deployed stack to read settings from (default ec2ip)
  -h, --help                   this help`;

export type CommonValues = { [K in keyof typeof COMMON_OPTIONS]?: (typeof COMMON_OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

/** Parses `args` with the common flags plus `options`; throws UsageError naming the bad flag. */
export function parse<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O, positionals = 0) {
  try {
    const parsed = parseArgs({ args, options: { ...COMMON_OPTIONS, ...options }, allowPositionals: positionals > 0, strict: true });
    if (parsed.positionals.length > positionals) throw new UsageError(`unexpected argument "${parsed.positionals[positionals]}"`);
    return parsed;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(error instanceof Error ? error.message : String(error), { cause: error });
  }
}

/** A TCP port from a flag (default 22); throws UsageError for anything else. */
export function parsePort(value: string | undefined, flag = '--port'): number {
  if (value === undefined) return 22;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 1 || port > 65535) throw new UsageError(`${flag} "${value}" is not a port: give a number from 1 to 65535`);
  return port;
}

const USER = /^[A-Za-z0-9._][A-Za-z0-9._@-]*$/;

/** A login name from --user, or undefined; throws UsageError for one that could inject an option. */
export function parseUser(value: string | undefined): string | undefined {
  if (value !== undefined && !USER.test(value)) throw new UsageError(`--user "${value}" is not a user name: use letters, digits, ".", "_", "-" and "@"`);
  return value;
}

/**
 * A path from a flag, or undefined; throws UsageError for an empty one or one holding a line
 * break or other control character (which would end a line of the file it is written into),
 * and, where the path lands in a config line, for a double quote.
 */
export function parsePath(value: string | undefined, flag: string, { quotes = true }: { quotes?: boolean } = {}): string | undefined {
  if (value === undefined) return undefined;
  if (value.trim() === '') throw new UsageError(`${flag} needs a file name`);
  if (/[\0-\x1f\x7f]/.test(value)) throw new UsageError(`${flag} ${JSON.stringify(value)} holds a line break or another control character: give a path without one`);
  if (!quotes && value.includes('"')) throw new UsageError(`${flag} ${JSON.stringify(value)} holds a double quote, which ends the path in the config line: give a path without one`);
  return value;
}
