/**
 * SSH host keys written the way OpenSSH (`known_hosts`) and PuTTY (its host-key cache) file
 * them. Parsing and checking keys lives in functions/core/host-keys.ts (the Lambda records
 * them too). Pure: no AWS and no file system here.
 */
import { createHmac } from 'node:crypto';
import { edwardsX, edwardsY, sshFields, type HostKey } from '../../functions/core/host-keys.js';

export { fingerprint, HOST_KEY_TYPES, parseConsoleHostKeys, validKey, type HostKey } from '../../functions/core/host-keys.js';


/** One entry of a host-key store: the key of `type` recorded for `alias`. */
export interface KeyEntry {
  alias: string;
  /** The store's name of the key type (PuTTY calls ssh-rsa `rsa2`). */
  type: string;
  /** What the store records: the base64 blob (OpenSSH) or PuTTY's rendering of it. */
  value: string;
}

/** A host-key file format: how to recognise its entries for an alias, and how to write one. */
export interface KeyStoreFormat {
  /** The entries a line records for `alias`, or undefined when the line is not about it. */
  entriesOf(line: string, alias: string): KeyEntry[] | undefined;
  /** The line to remove `alias` from a line about it: the rest of the line, or undefined to drop it. */
  withoutAlias(line: string, alias: string): string | undefined;
  /** The line that records `entry`; `label` says what it is for (the ec2ip name). */
  render(entry: KeyEntry, label: string): string;
}

/** What a merge did for one alias. */
export interface AliasOutcome {
  alias: string;
  label: string;
  added: KeyEntry[];
  /** Types recorded with another value than the instance shows: kept as they were unless `replace`. */
  changed: { type: string; recorded: string; shown: string }[];
  replaced: boolean;
}

/**
 * Merges the wanted keys into a host-key file's text. Lines that are not about a wanted alias
 * stay byte for byte. A key type the file lacks is appended. A type the file records with
 * another value is a changed key: it is reported and the alias's lines are left as they are,
 * unless `replace`, which drops the alias from its old lines and appends the new keys.
 */
export function mergeKeyStore(
  text: string,
  wanted: readonly { alias: string; label: string; entries: KeyEntry[] }[],
  format: KeyStoreFormat,
  { replace = false }: { replace?: boolean } = {},
): { text: string; outcomes: AliasOutcome[] } {
  let lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  const outcomes: AliasOutcome[] = [];
  const appended: string[] = [];
  for (const want of wanted) {
    const recorded = new Map<string, string[]>();
    for (const line of lines) for (const e of format.entriesOf(line, want.alias) ?? []) recorded.set(e.type, [...(recorded.get(e.type) ?? []), e.value]);
    const changed = want.entries
      .filter((e) => recorded.has(e.type) && !recorded.get(e.type)?.includes(e.value))
      .map((e) => ({ type: e.type, recorded: recorded.get(e.type)?.[0] ?? '', shown: e.value }));
    const replacing = changed.length > 0 && replace;
    if (replacing) lines = lines.flatMap((line) => (format.entriesOf(line, want.alias) ? [format.withoutAlias(line, want.alias) ?? []].flat() : [line]));
    const added = changed.length === 0 ? want.entries.filter((e) => !recorded.has(e.type)) : replacing ? [...want.entries] : [];
    outcomes.push({ alias: want.alias, label: want.label, added, changed, replaced: replacing });
    appended.push(...added.map((e) => format.render(e, want.label)));
  }
  const all = [...lines, ...appended];
  return { text: all.length > 0 ? `${all.join('\n')}\n` : '', outcomes };
}

/**
 * OpenSSH's `known_hosts`: `host[,host…] type base64 [comment]`, where a host may be hashed
 * (`|1|salt|HMAC-SHA1(salt, host)`, written when HashKnownHosts is on, as on Debian and
 * Ubuntu). Marker lines (`@cert-authority`, `@revoked`) and patterns are never ec2ip's.
 */
export const KNOWN_HOSTS: KeyStoreFormat = {
  entriesOf(line, alias) {
    const [hosts, type, base64] = line.trim().split(/\s+/);
    if (!hosts || !type || !base64 || hosts.startsWith('#') || hosts.startsWith('@')) return undefined;
    if (!hosts.split(',').some((h) => hostMatches(h, alias))) return undefined;
    return [{ alias, type, value: base64 }];
  },
  withoutAlias(line, alias) {
    const [hosts = '', ...rest] = line.trim().split(/\s+/);
    const others = hosts.split(',').filter((h) => !hostMatches(h, alias));
    return others.length > 0 ? [others.join(','), ...rest].join(' ') : undefined;
  },
  render: (e, label) => `${e.alias} ${e.type} ${e.value} ec2ip:${label}`,
};

function hostMatches(pattern: string, alias: string): boolean {
  if (pattern.toLowerCase() === alias.toLowerCase()) return true;
  const hashed = /^\|1\|([A-Za-z0-9+/=]+)\|([A-Za-z0-9+/=]+)$/.exec(pattern);
  if (!hashed) return false;
  const digest = createHmac('sha1', Buffer.from(hashed[1] as string, 'base64')).update(alias.toLowerCase()).digest('base64');
  return digest === hashed[2];
}

/** OpenSSH's entries for an instance's keys. */
export function knownHostsEntries(alias: string, keys: readonly HostKey[]): KeyEntry[] {
  return keys.map((k) => ({ alias, type: k.type, value: k.base64 }));
}

/**
 * PuTTY's host-key cache (`~/.putty/sshhostkeys` on Unix, the registry key `SshHostKeys` on
 * Windows): one entry per `type@port:host`, valued in PuTTY's own rendering of the key. With
 * `LogHost` set (the session setting behind "Logical name of remote host"), PuTTY files a
 * session's keys under that name instead of the address.
 */
export function puttyEntries(alias: string, port: number, keys: readonly HostKey[]): KeyEntry[] {
  return keys.map((k) => ({ alias: puttyHost(alias, port), type: puttyKeyType(k.type), value: puttyKeyValue(k) }));
}

function puttyHost(alias: string, port: number): string {
  return `${port}:${alias}`;
}

/** The Unix cache file's lines: `type@port:host value`. */
export const PUTTY_HOST_KEYS: KeyStoreFormat = {
  entriesOf(line, alias) {
    const match = /^([^@\s]+)@(\S+) (\S+)$/.exec(line);
    if (!match || match[2] !== alias) return undefined;
    return [{ alias, type: match[1] as string, value: match[3] as string }];
  },
  withoutAlias: () => undefined,
  render: (e) => `${puttyValueName(e)} ${e.value}`,
};

/** The name PuTTY gives a cache entry (the registry value name; the Unix file's first field). */
export function puttyValueName(e: KeyEntry): string {
  return `${e.type}@${e.alias}`;
}

function puttyKeyType(type: string): string {
  return type === 'ssh-rsa' ? 'rsa2' : type;
}

/**
 * PuTTY's rendering of a public key in its cache, checked against what plink itself writes:
 * RSA `0x<e>,0x<n>`; ECDSA `nistp256,0x<x>,0x<y>`; Ed25519 `0x<x>,0x<y>`, the affine point
 * (the blob holds only y and the sign of x, so x is recovered on the curve).
 */
export function puttyKeyValue(key: HostKey): string {
  const fields = sshFields(Buffer.from(key.base64, 'base64'));
  if (key.type === 'ssh-rsa') return `${hex(fields[1] as Buffer)},${hex(fields[2] as Buffer)}`;
  if (key.type.startsWith('ecdsa-sha2-')) {
    const point = (fields[2] as Buffer).subarray(1);
    const half = point.length / 2;
    return `${(fields[1] as Buffer).toString('latin1')},${hex(point.subarray(0, half))},${hex(point.subarray(half))}`;
  }
  if (key.type === 'ssh-ed25519') {
    const encoded = fields[1] as Buffer;
    const x = edwardsX(encoded);
    if (x === undefined) throw new Error('not a point on Ed25519');
    return `0x${x.toString(16)},0x${edwardsY(encoded).toString(16)}`;
  }
  throw new Error(`PuTTY cache format unknown for ${key.type}`);
}

function hex(bytes: Buffer): string {
  return `0x${BigInt(`0x${bytes.toString('hex') || '0'}`).toString(16)}`;
}
