/**
 * An instance's verified host keys, with where they came from: first the record under
 * `<prefix>/<name>/host-keys` (written by the function at first boot, or by
 * `known-hosts --via ssm`), then the console output (an instance in its first hour that the
 * function has not got to). A console that disagrees with the record is a loud warning and
 * the recorded keys are used. The one lookup every command that connects uses.
 */
import { getParameters } from '../../functions/adapters/ssm.js';
import { fingerprint, HOST_KEYS_LEAF, parseHostKeyRecord, type HostKey, type HostKeyRecord } from '../../functions/core/host-keys.js';
import { parameterFolder } from '../../functions/core/names.js';
import { explainAwsError } from './aws-errors.js';
import { readConsoleHostKeys, type ConsoleKeys } from './console-keys.js';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { KeyTarget } from './host-key-files.js';
import type { Io } from './io.js';


/** What the lookup reads with: a command's Context, or the lean clients of the connect commands. */
export interface KeyLookup {
  clients: { ssm: SSMClient; ec2: EC2Client };
  config: { prefix: string };
}

/** Where verified keys came from. */
export type KeySource = 'recorded' | 'console';

/** The outcome for one instance. */
export type VerifiedKeys =
  | {
      keys: HostKey[];
      source: KeySource;
      /** Says where, for the user: the parameter and how it was filled, or the console. */
      from: string;
      /** Set when the console shows other keys than the record: say so loudly. */
      disagreement?: string;
    }
  | { missing: string };

/** The parameter that records a name's host keys. */
export function hostKeysParameter(prefix: string, name: string): string {
  return `${parameterFolder(prefix, name)}/${HOST_KEYS_LEAF}`;
}

/**
 * Each target's verified keys. The console is read for every target (to check a record
 * against it) unless `console` is `if-unrecorded`, which reads it only where no keys are
 * recorded (a ProxyCommand's lean path). A denied console read fails only where nothing is recorded.
 */
export async function verifiedHostKeys(ctx: KeyLookup, targets: readonly KeyTarget[], { console = 'always' }: { console?: 'always' | 'if-unrecorded' } = {}): Promise<Map<string, VerifiedKeys>> {
  const prefix = ctx.config.prefix;
  let values: Map<string, string>;
  try {
    values = await getParameters(ctx.clients.ssm, targets.map((t) => hostKeysParameter(prefix, t.name)));
  } catch (error) {
    throw explainAwsError(error, `reading the recorded host keys under ${prefix}`);
  }
  const records = new Map<string, { record?: HostKeyRecord; note?: string }>();
  for (const t of targets) records.set(t.instanceId, recordOf(t, values.get(hostKeysParameter(prefix, t.name)), prefix));
  const recorded = targets.filter((t) => records.get(t.instanceId)?.record?.keys.length);
  const unrecorded = targets.filter((t) => !recorded.includes(t));
  const [checks, consoles] = await Promise.all([
    console === 'always' && recorded.length > 0 ? readConsoleHostKeys(ctx.clients.ec2, recorded.map((t) => t.instanceId)).catch(() => new Map<string, ConsoleKeys>()) : Promise.resolve(new Map<string, ConsoleKeys>()),
    unrecorded.length > 0 ? readConsoleHostKeys(ctx.clients.ec2, unrecorded.map((t) => t.instanceId)) : Promise.resolve(new Map<string, ConsoleKeys>()),
  ]);
  const out = new Map<string, VerifiedKeys>();
  for (const t of targets) {
    const { record, note } = records.get(t.instanceId) ?? {};
    const parameter = hostKeysParameter(prefix, t.name);
    if (record && record.keys.length > 0) {
      const from = `${parameter} (${record.source === 'ssm' ? 'read from its key files through Run Command' : 'read from its console at first boot'}, ${record.recordedAt})`;
      const shown = checks.get(t.instanceId);
      const differ = shown && 'keys' in shown ? shown.keys.filter((k) => !record.keys.some((r) => r.type === k.type && r.base64 === k.base64)) : [];
      out.set(
        t.instanceId,
        differ.length > 0
          ? { keys: record.keys, source: 'recorded', from, disagreement: `its console output now shows ${describe(differ)}, which ${parameter} does not record (it records ${describe(record.keys)})` }
          : { keys: record.keys, source: 'recorded', from },
      );
      continue;
    }
    const shown = consoles.get(t.instanceId);
    if (shown && 'keys' in shown) out.set(t.instanceId, { keys: shown.keys, source: 'console', from: 'its console output (not recorded yet)' });
    else out.set(t.instanceId, { missing: `${shown?.missing ?? 'its console was not read'}, and ${note ?? `nothing is recorded in ${parameter}`}; read them with \`ec2ip known-hosts --via ssm ${t.name}\`` });
  }
  return out;
}

function describe(keys: readonly HostKey[]): string {
  return keys.map((k) => `${k.type} ${fingerprint(k)}`).join(', ');
}

/** A record, if it is valid and this instance's; otherwise why it is not used. */
function recordOf(t: KeyTarget, value: string | undefined, prefix: string): { record?: HostKeyRecord; note?: string } {
  const parameter = hostKeysParameter(prefix, t.name);
  if (value === undefined) return {};
  const parsed = parseHostKeyRecord(value);
  if (!('record' in parsed)) return { note: `${parameter} is not a valid host-key record (${parsed.invalid}), so it is ignored` };
  if (parsed.record.instance !== t.instanceId) return { note: `${parameter} records the keys of ${parsed.record.instance}, not of ${t.instanceId}, so it is ignored` };
  if (parsed.record.source === 'none') return { record: parsed.record, note: `the function found no keys on its console in the 20 minutes after its first boot (${parameter})` };
  return { record: parsed.record };
}

/** What the commands that write host-key files take from the lookup. */
export interface VerifiedResult {
  keys: Map<string, HostKey[]>;
  /** Instances whose console disagrees with their record (reported loudly). */
  disagreements: number;
}

/**
 * The lookup for the commands that file keys (known-hosts, ssh-config, putty): reports on
 * stderr where each instance's keys came from, an instance without keys (skipped, so its first
 * connection asks), and a disagreement as a WARNING.
 */
export async function verifiedKeysOf(ctx: KeyLookup, targets: readonly KeyTarget[], io: Io): Promise<VerifiedResult> {
  const found = await verifiedHostKeys(ctx, targets);
  const keys = new Map<string, HostKey[]>();
  let disagreements = 0;
  for (const t of targets) {
    const result = found.get(t.instanceId);
    const who = `${t.name} (${t.instanceId})`;
    if (!result || 'missing' in result) {
      io.stderr(`no verified host keys for ${who}: ${result?.missing ?? 'not read'}; skipped, so the first connection will ask you to confirm its key\n`);
      continue;
    }
    keys.set(t.instanceId, result.keys);
    io.stderr(`host keys of ${who} from ${result.from}: ${describe(result.keys)}\n`);
    if (result.disagreement) {
      disagreements++;
      io.stderr(`WARNING: HOST KEYS DISAGREE for ${who}: ${result.disagreement}. Using the recorded keys. If the instance's keys were regenerated on purpose, record them again (delete the parameter, then \`ec2ip known-hosts --via ssm ${t.name}\`); otherwise do not connect: someone may be impersonating it.\n`);
    }
  }
  return { keys, disagreements };
}
