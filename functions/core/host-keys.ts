/**
 * SSH host keys as ec2ip reads and records them: the block cloud-init prints on the console at
 * an instance's first boot, the public key files read through Run Command, and the record
 * ec2ip keeps under `<prefix>/<name>/host-keys`. Pure: no AWS and no file system here.
 */
import { createHash } from 'node:crypto';

/** One public host key, as sshd serves it. */
export interface HostKey {
  /** The SSH key type: `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`, … */
  type: string;
  /** The key blob, base64, as in a `.pub` file. */
  base64: string;
}

const BEGIN = '-----BEGIN SSH HOST KEY KEYS-----';
const END = '-----END SSH HOST KEY KEYS-----';

/** The host key types ec2ip files; others (ssh-dss, certificates) are ignored, never guessed at. */
export const HOST_KEY_TYPES = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa'] as const;

const KEY_LINE = new RegExp(`(?:^|\\s)(${HOST_KEY_TYPES.join('|')}) (AAAA[A-Za-z0-9+/]+={0,2})(?=\\s|$)`);

/**
 * The host keys in a console output: the lines of the last complete
 * `-----BEGIN SSH HOST KEY KEYS-----` … `-----END SSH HOST KEY KEYS-----` block that cloud-init
 * prints at boot. The serial console is shared, so a line may carry a prefix (`ec2: `, a
 * timestamp) and kernel messages may be interleaved: only lines holding a well-formed key of a
 * known type count. Undefined when there is no complete block (not booted yet, no cloud-init,
 * or `emit_keys_to_console: false`) or it holds no valid key.
 */
export function parseConsoleHostKeys(output: string): HostKey[] | undefined {
  const lines = output.split(/\r?\n|\r/);
  let end = -1;
  for (let i = lines.length - 1; i >= 0 && end < 0; i--) if (lines[i]?.includes(END)) end = i;
  if (end < 0) return undefined;
  let begin = -1;
  for (let i = end - 1; i >= 0 && begin < 0; i--) if (lines[i]?.includes(BEGIN)) begin = i;
  if (begin < 0) return undefined;
  const keys: HostKey[] = [];
  for (const line of lines.slice(begin + 1, end)) {
    const match = KEY_LINE.exec(line);
    if (!match) continue;
    const key = { type: match[1] as string, base64: match[2] as string };
    if (validKey(key) && !keys.some((k) => k.type === key.type)) keys.push(key);
  }
  return keys.length > 0 ? keys : undefined;
}

/** True when the blob decodes and names the same type as the line (a truncated or altered line does not). */
export function validKey(key: HostKey): boolean {
  try {
    const fields = sshFields(Buffer.from(key.base64, 'base64'));
    if (fields[0]?.toString('latin1') !== key.type) return false;
    if (key.type === 'ssh-ed25519') return fields.length === 2 && fields[1]?.length === 32 && edwardsX(fields[1]) !== undefined;
    if (key.type.startsWith('ecdsa-sha2-')) return fields.length === 3 && fields[1]?.toString('latin1') === key.type.slice('ecdsa-sha2-'.length) && fields[2]?.[0] === 4;
    return fields.length === 3;
  } catch {
    return false;
  }
}

/** OpenSSH's fingerprint of a key: `SHA256:` and the unpadded base64 of the blob's SHA-256. */
export function fingerprint(key: HostKey): string {
  return `SHA256:${createHash('sha256').update(Buffer.from(key.base64, 'base64')).digest('base64').replace(/=+$/, '')}`;
}

/** The strings of an SSH wire-format blob (each a uint32 length and its bytes). */
export function sshFields(blob: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at < blob.length) {
    if (at + 4 > blob.length) throw new Error('truncated key blob');
    const length = blob.readUInt32BE(at);
    if (at + 4 + length > blob.length) throw new Error('truncated key blob');
    out.push(blob.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return out;
}

const P = 2n ** 255n - 19n;
const D = mod(-121665n * inverse(121666n));
const SQRT_M1 = power(2n, (P - 1n) / 4n);

/** y of an encoded Ed25519 point. */
export function edwardsY(encoded: Buffer): bigint {
  const little = Buffer.from(encoded).reverse();
  little[0] = (little[0] as number) & 0x7f;
  return BigInt(`0x${little.toString('hex')}`);
}

/** x of an encoded Ed25519 point (RFC 8032 §5.1.3), or undefined when it is not on the curve. */
export function edwardsX(encoded: Buffer): bigint | undefined {
  const sign = ((encoded[31] as number) >> 7) & 1;
  const y = edwardsY(encoded);
  if (y >= P) return undefined;
  const u = mod(y * y - 1n);
  const v = mod(D * y * y + 1n);
  let x = mod(u * power(v, 3n) * power(u * power(v, 7n), (P - 5n) / 8n));
  const check = mod(v * x * x);
  if (check === mod(-u)) x = mod(x * SQRT_M1);
  else if (check !== u) return undefined;
  if (x === 0n && sign === 1) return undefined;
  if (Number(x & 1n) !== sign) x = P - x;
  return x;
}

function mod(a: bigint): bigint {
  const r = a % P;
  return r < 0n ? r + P : r;
}

function power(base: bigint, exponent: bigint): bigint {
  let result = 1n;
  let b = mod(base);
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = mod(result * b);
    b = mod(b * b);
    e >>= 1n;
  }
  return result;
}

function inverse(a: bigint): bigint {
  return power(a, P - 2n);
}

/** The leaf under `<prefix>/<name>/` that records the name's owner's host keys. */
export const HOST_KEYS_LEAF = 'host-keys';

/**
 * How long after an instance's first boot its console may still show the key block the
 * function looks for: cloud-init prints it a minute or so after `running`, and the
 * default reconcile schedule (15 minutes) falls at least once in this window.
 */
export const HOST_KEY_WINDOW_MS = 20 * 60 * 1000;

/** SSM Standard parameters hold at most 4 KB. */
const PARAMETER_MAX = 4096;

/** Where a record's keys came from; `none`: the function looked in vain (or the instance booted before it could) and gave up. */
export type HostKeySource = 'console' | 'ssm' | 'none';

/**
 * What `<prefix>/<name>/host-keys` holds, as JSON: the instance the keys belong to, where they
 * were read, when, and the key lines (`type base64`). Written once per instance id.
 */
export interface HostKeyRecord {
  instance: string;
  source: HostKeySource;
  recordedAt: string;
  keys: HostKey[];
}

const INSTANCE_ID = /^i-[0-9a-f]{8,17}$/;
const RECORD_FIELDS = ['instance', 'source', 'recordedAt', 'keys'];

/** The parameter value of a record; undefined when it would not fit a Standard parameter. */
export function formatHostKeyRecord(record: HostKeyRecord): string | undefined {
  const value = JSON.stringify({ instance: record.instance, source: record.source, recordedAt: record.recordedAt, keys: record.keys.map((k) => `${k.type} ${k.base64}`) });
  return value.length <= PARAMETER_MAX ? value : undefined;
}

/**
 * Parses a `host-keys` parameter strictly: exactly the four fields, a valid instance id, a
 * known source, a date, and well-formed keys of distinct known types (none only for `none`).
 * Anything else is refused with the reason, never half-used.
 */
export function parseHostKeyRecord(value: string): { record: HostKeyRecord } | { invalid: string } {
  let data: unknown;
  try {
    data = JSON.parse(value);
  } catch {
    return { invalid: 'it is not JSON' };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return { invalid: 'it is not a JSON object' };
  const o = data as Record<string, unknown>;
  const extra = Object.keys(o).filter((k) => !RECORD_FIELDS.includes(k));
  if (extra.length > 0) return { invalid: `it has unknown fields (${extra.join(', ')})` };
  if (typeof o.instance !== 'string' || !INSTANCE_ID.test(o.instance)) return { invalid: '"instance" is not an instance id' };
  if (o.source !== 'console' && o.source !== 'ssm' && o.source !== 'none') return { invalid: '"source" is not console, ssm or none' };
  if (typeof o.recordedAt !== 'string' || Number.isNaN(Date.parse(o.recordedAt))) return { invalid: '"recordedAt" is not a date' };
  if (!Array.isArray(o.keys)) return { invalid: '"keys" is not a list' };
  const keys: HostKey[] = [];
  for (const line of o.keys) {
    const match = typeof line === 'string' ? /^(\S+) (AAAA[A-Za-z0-9+/]+={0,2})$/.exec(line) : null;
    const key = match ? { type: match[1] as string, base64: match[2] as string } : undefined;
    if (!key || !(HOST_KEY_TYPES as readonly string[]).includes(key.type) || !validKey(key)) return { invalid: `"keys" holds a malformed key (${JSON.stringify(line).slice(0, 60)})` };
    if (keys.some((k) => k.type === key.type)) return { invalid: `"keys" holds two ${key.type} keys` };
    keys.push(key);
  }
  if ((o.source === 'none') !== (keys.length === 0)) return { invalid: o.source === 'none' ? '"source" none with keys' : '"keys" is empty' };
  return { record: { instance: o.instance, source: o.source, recordedAt: o.recordedAt, keys } };
}

/** True when two key sets hold the same keys (order aside). */
export function sameKeys(a: readonly HostKey[], b: readonly HostKey[]): boolean {
  const has = (list: readonly HostKey[], k: HostKey) => list.some((o) => o.type === k.type && o.base64 === k.base64);
  // Both ways: [a, a] and [a, b] have the same length and every key of the first is in the second.
  return a.length === b.length && a.every((k) => has(b, k)) && b.every((k) => has(a, k));
}

const RUN_BEGIN = '-----BEGIN EC2IP HOST KEYS-----';
const RUN_END = '-----END EC2IP HOST KEYS-----';

/**
 * The shell commands (AWS-RunShellScript) that print the instance's public host keys between
 * two markers, so a truncated or foreign output is recognised.
 */
export const HOST_KEYS_COMMANDS = [`echo '${RUN_BEGIN}'`, 'for f in /etc/ssh/ssh_host_*_key.pub; do if [ -r "$f" ]; then cat "$f"; echo; fi; done', `echo '${RUN_END}'`];

/** Run Command keeps the first 24,000 characters of standard output (GetCommandInvocation). */
const STDOUT_LIMIT = 24_000;

/**
 * The keys in the output of HOST_KEYS_COMMANDS, parsed strictly: the markers exactly once and
 * nothing outside them, and inside only blank lines and well-formed public key lines
 * (`type base64 [comment]`). A DSA key (old images) is skipped; any other line refuses the
 * whole output, so a stray line can never become a trusted key.
 */
export function parseRunCommandKeys(stdout: string): { keys: HostKey[] } | { invalid: string } {
  if (stdout.length >= STDOUT_LIMIT) return { invalid: `the output reached Run Command's ${STDOUT_LIMIT}-character limit, so it may be truncated` };
  const lines = stdout.split(/\r?\n/);
  const begin = lines.indexOf(RUN_BEGIN);
  const end = lines.indexOf(RUN_END);
  if (begin < 0 || end < begin || lines.lastIndexOf(RUN_BEGIN) !== begin || lines.lastIndexOf(RUN_END) !== end) return { invalid: `the output does not hold exactly one ${RUN_BEGIN} … ${RUN_END} block` };
  const outside = [...lines.slice(0, begin), ...lines.slice(end + 1)].find((l) => l.trim() !== '');
  if (outside !== undefined) return { invalid: `the output holds a line outside the block: ${JSON.stringify(outside.slice(0, 60))}` };
  const keys: HostKey[] = [];
  for (const [i, line] of lines.slice(begin + 1, end).entries()) {
    if (line.trim() === '') continue;
    const match = /^(\S+) (AAAA[A-Za-z0-9+/]+={0,2})(?: [^\r\n]*)?$/.exec(line);
    if (match?.[1] === 'ssh-dss') continue;
    const key = match ? { type: match[1] as string, base64: match[2] as string } : undefined;
    if (!key || !(HOST_KEY_TYPES as readonly string[]).includes(key.type) || !validKey(key)) return { invalid: `line ${i + 1} of the block is not a well-formed public host key: ${JSON.stringify(line.slice(0, 60))}` };
    if (keys.some((k) => k.type === key.type)) return { invalid: `the block holds two ${key.type} keys` };
    keys.push(key);
  }
  return keys.length > 0 ? { keys } : { invalid: 'the block holds no public host key (no readable /etc/ssh/ssh_host_*_key.pub)' };
}
