/**
 * Where to connect to each published instance, decided once for `ssh-config` and `putty`:
 * its stable hostname where ec2ip holds one, else its current address.
 */
import { ipv4 } from '../../functions/core/names.js';
import type { Context } from './context.js';
import { readHostnames, type Hostnames } from './hostnames.js';
import type { Io } from './io.js';
import { readPublished, type Published } from './published.js';

/** One instance to connect to. */
export interface SshTarget {
  /** The ec2ip name (`web`). */
  name: string;
  instanceId: string;
  /** The public zone's hostname, else the private zone's, else the public IP, else the private IP. */
  hostName: string;
}

const INSTANCE_ID = /^i-[0-9a-f]{1,32}$/;

/** True for a well-formed instance id (a value that cannot inject anything into a config line). */
export function isInstanceId(value: string | undefined): value is string {
  return value !== undefined && INSTANCE_ID.test(value);
}

/** Targets sorted by name; entries that cannot make a safe target are skipped with the reason. */
export function sshTargets(published: readonly Published[], hostnames: (name: string, instanceId: string) => Hostnames): { targets: SshTarget[]; skipped: string[] } {
  const targets: SshTarget[] = [];
  const skipped: string[] = [];
  for (const p of [...published].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (!isInstanceId(p.instanceId)) {
      skipped.push(`${p.name}: no valid instance-id parameter`);
      continue;
    }
    const held = hostnames(p.name, p.instanceId);
    const hostName = held.public ?? held.private ?? ipv4(p.publicIp) ?? ipv4(p.privateIp);
    if (!hostName) {
      skipped.push(`${p.name} (${p.instanceId}): it holds no hostname and has no address`);
      continue;
    }
    targets.push({ name: p.name, instanceId: p.instanceId, hostName });
  }
  return { targets, skipped };
}

/** Reads the published instances and the hostnames they hold, and reports the skipped ones on stderr. */
export async function loadSshTargets(ctx: Context, io: Io): Promise<SshTarget[]> {
  const [published, hostnames] = await Promise.all([readPublished(ctx.clients.ssm, ctx.config.prefix), readHostnames(ctx, io.stderr)]);
  const { targets, skipped } = sshTargets(published, hostnames);
  for (const s of skipped) io.stderr(`skipped ${s}\n`);
  return targets;
}
