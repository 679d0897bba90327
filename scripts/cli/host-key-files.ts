/**
 * Verified host keys on disk: each instance's verified keys (verified-keys.ts), merged into a host-key
 * file (OpenSSH known_hosts, PuTTY's sshhostkeys) under the instance id, with a changed key
 * reported and kept as it was unless the user says `--replace`.
 */
import { lstat } from 'node:fs/promises';
import { fingerprint, knownHostsEntries, mergeKeyStore, puttyEntries, type AliasOutcome, type HostKey, type KeyEntry, type KeyStoreFormat } from './host-keys.js';
import type { Io } from './io.js';
import { readOwnFile, writeFileIfChanged } from './write-file.js';

/** An instance whose keys to file. */
export interface KeyTarget {
  name: string;
  instanceId: string;
}

/** An instance's keys to merge, in the entries of one store. */
export interface WantedKeys {
  target: KeyTarget;
  keys: HostKey[];
  entries: KeyEntry[];
}

/** OpenSSH known_hosts entries under each instance id, for the instances that showed keys. */
export function knownHostsWanted(targets: readonly KeyTarget[], keys: ReadonlyMap<string, HostKey[]>): WantedKeys[] {
  return targets.flatMap((t) => {
    const k = keys.get(t.instanceId);
    return k ? [{ target: t, keys: k, entries: knownHostsEntries(t.instanceId, k) }] : [];
  });
}

/**
 * PuTTY host-key cache entries under each instance id. A session whose LogHost is a bare name
 * has its keys cached under that name and port 22, whatever port it connects to (checked with
 * plink 0.78: "i-0abc (port 22)").
 */
export function puttyWanted(targets: readonly KeyTarget[], keys: ReadonlyMap<string, HostKey[]>): WantedKeys[] {
  return targets.flatMap((t) => {
    const k = keys.get(t.instanceId);
    return k ? [{ target: t, keys: k, entries: puttyEntries(t.instanceId, 22, k) }] : [];
  });
}

/** What merging into a file did. */
export interface KeyFileResult {
  /** Instances whose recorded key differs from the console's and was kept (not `--replace`d). */
  changedKept: number;
  written: boolean;
}

/**
 * Merges the wanted entries into `path` (created when missing; other lines untouched; a
 * symlink refused with exit 2), writes it atomically when it changed, and reports each instance's outcome on stderr. A changed key
 * is reported loudly; only `replace` overwrites it.
 */
export async function mergeKeyFile(
  path: string,
  wanted: readonly WantedKeys[],
  format: KeyStoreFormat,
  { replace, io, flagHint }: { replace: boolean; io: Io; flagHint: string },
): Promise<KeyFileResult> {
  // A link is refused, not followed: a known_hosts linked to ~/.bashrc must not get key lines.
  const current = (await readOwnFile(path))?.toString('utf8') ?? '';
  const { text, outcomes } = mergeWanted(current, wanted, format, replace);
  const changedKept = reportOutcomes(outcomes, wanted, path, flagHint, io);
  if (text === current) return { changedKept, written: false };
  // A known_hosts file keeps its mode; a new one is private to the user.
  const mode = await lstat(path).then(
    (s) => s.mode & 0o777,
    () => 0o600,
  );
  await writeFileIfChanged(path, text, { mode });
  return { changedKept, written: true };
}

/** mergeKeyStore over the wanted instances' entries. */
export function mergeWanted(text: string, wanted: readonly WantedKeys[], format: KeyStoreFormat, replace: boolean): ReturnType<typeof mergeKeyStore> {
  return mergeKeyStore(
    text,
    wanted.map((w) => ({ alias: aliasOf(w), label: w.target.name, entries: w.entries })),
    format,
    { replace },
  );
}

function aliasOf(w: WantedKeys): string {
  return w.entries[0]?.alias ?? w.target.instanceId;
}

/**
 * Says on stderr what a merge did for each instance; a changed key kept is a loud warning.
 * Returns how many instances kept a changed key.
 */
export function reportOutcomes(outcomes: readonly AliasOutcome[], wanted: readonly WantedKeys[], where: string, flagHint: string, io: Io): number {
  let changedKept = 0;
  for (const o of outcomes) {
    const w = wanted.find((x) => aliasOf(x) === o.alias);
    if (!w) continue;
    const who = `${w.target.name} (${w.target.instanceId})`;
    const shown = w.keys.map((k) => `${k.type} ${fingerprint(k)}`).join(', ');
    if (o.changed.length > 0 && !o.replaced) {
      changedKept++;
      io.stderr(
        `WARNING: HOST KEY CHANGED for ${who}: ${where} records another ${o.changed.map((c) => c.type).join(', ')} key than the instance printed at boot (${shown}). ` +
          `Kept the recorded key. If the instance's keys were regenerated on purpose, re-run with ${flagHint}; otherwise do not connect: someone may be impersonating it.\n`,
      );
    } else if (o.replaced) {
      io.stderr(`replaced the recorded host keys of ${who} with the ones it printed at boot (${shown})\n`);
    } else if (o.added.length > 0) {
      io.stderr(`recorded ${o.added.length} host key${o.added.length === 1 ? '' : 's'} of ${who}: ${shown}\n`);
    }
  }
  return changedKept;
}
