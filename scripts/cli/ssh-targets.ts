/**
 * Where a person connects to each published instance, decided once for `ssh-config`, `putty`
 * and every command that connects: `chooseAddress` is the one rule.
 */
import { ipv4, ipv6 } from '../../functions/core/names.js';
import type { Context } from './context.js';
import { UsageError } from './errors.js';
import { readHostnames, type Hostnames } from './hostnames.js';
import type { Io } from './io.js';
import { readPublished, type Published } from './published.js';

/** Which address family `--prefer` puts first. */
export type Prefer = 'ipv4' | 'ipv6';

/** What kind of address `chooseAddress` picked. */
export type AddressKind = 'hostname' | 'public-ipv4' | 'ipv6' | 'private-ipv4';

/** An address to connect to. */
export interface Address {
  /** A hostname, a dotted IPv4, or a bare IPv6 (`2600:1f18::5`; see `bracketed`). */
  host: string;
  kind: AddressKind;
}

/** One instance to connect to. */
export interface SshTarget {
  /** The ec2ip name (`web`). */
  name: string;
  instanceId: string;
  /** Where to connect: see `chooseAddress`. */
  hostName: string;
  kind: AddressKind;
}

/** The `--prefer` flag's value, or undefined; throws UsageError for anything else. */
export function parsePrefer(value: string | undefined): Prefer | undefined {
  if (value === undefined || value === 'ipv4' || value === 'ipv6') return value;
  throw new UsageError(`--prefer "${value}" is not an address family: use ipv4 or ipv6`);
}

/**
 * The address a person outside the VPC can reach, best first: the stable hostname where a zone
 * holds it (public zone, else private), else the public IPv4, else the global IPv6 (an instance
 * without a public IPv4 is still reachable there, and free), else the private IPv4 (reachable
 * only from inside the network). `prefer` puts that family's public address before the name:
 * `ipv6` for a laptop on an IPv6-only network, `ipv4` to bypass a name not yet propagated.
 * Every value is validated (an address parameter is not trusted); undefined when none is usable.
 */
export function chooseAddress(p: Pick<Published, 'publicIp' | 'privateIp' | 'ipv6'>, held: Hostnames, prefer?: Prefer): Address | undefined {
  const name = held.public ?? held.private;
  const candidates: [string | undefined, AddressKind][] = [
    [name, 'hostname'],
    [ipv4(p.publicIp), 'public-ipv4'],
    // The parameter lists the interface's addresses, comma-separated: the first is the one to use.
    [ipv6(p.ipv6?.split(',')[0]), 'ipv6'],
  ];
  if (prefer === 'ipv4') candidates.unshift(candidates.splice(1, 1)[0] as [string | undefined, AddressKind]);
  if (prefer === 'ipv6') candidates.unshift(candidates.splice(2, 1)[0] as [string | undefined, AddressKind]);
  candidates.push([ipv4(p.privateIp), 'private-ipv4']);
  const found = candidates.find(([host]) => host !== undefined);
  return found ? { host: found[0] as string, kind: found[1] } : undefined;
}

/** `host` as a URL or `host:port` needs it: an IPv6 address in brackets (`[2600:1f18::5]`), anything else as it is. */
export function bracketed(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** The one line telling a person that the address chosen for `name` is reachable only from inside the VPC. */
export function privateNote(target: Pick<SshTarget, 'name' | 'instanceId' | 'hostName' | 'kind'>): string | undefined {
  if (target.kind !== 'private-ipv4') return undefined;
  return `note: ${target.name} (${target.instanceId}) has no hostname, public IPv4 or IPv6 published; its private IP ${target.hostName} is reachable only from inside its network (VPC, VPN, peering)\n`;
}

const INSTANCE_ID = /^i-[0-9a-f]{1,32}$/;

/** True for a well-formed instance id (a value that cannot inject anything into a config line). */
export function isInstanceId(value: string | undefined): value is string {
  return value !== undefined && INSTANCE_ID.test(value);
}

/** Targets sorted by name; entries that cannot make a safe target are skipped with the reason. */
export function sshTargets(
  published: readonly Published[],
  hostnames: (name: string, instanceId: string) => Hostnames,
  prefer?: Prefer,
): { targets: SshTarget[]; skipped: string[] } {
  const targets: SshTarget[] = [];
  const skipped: string[] = [];
  for (const p of [...published].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (!isInstanceId(p.instanceId)) {
      skipped.push(`${p.name}: no valid instance-id parameter`);
      continue;
    }
    const address = chooseAddress(p, hostnames(p.name, p.instanceId), prefer);
    if (!address) {
      skipped.push(`${p.name} (${p.instanceId}): it holds no hostname and has no address`);
      continue;
    }
    targets.push({ name: p.name, instanceId: p.instanceId, hostName: address.host, kind: address.kind });
  }
  return { targets, skipped };
}

/** Reads the published instances and the hostnames they hold, and reports the skipped ones, and those reachable only privately, on stderr. */
export async function loadSshTargets(ctx: Context, io: Io, prefer?: Prefer): Promise<SshTarget[]> {
  const [published, hostnames] = await Promise.all([readPublished(ctx.clients.ssm, ctx.config.prefix), readHostnames(ctx, io.stderr)]);
  const { targets, skipped } = sshTargets(published, hostnames, prefer);
  for (const s of skipped) io.stderr(`skipped ${s}\n`);
  for (const t of targets) {
    const note = privateNote(t);
    if (note) io.stderr(note);
  }
  return targets;
}
