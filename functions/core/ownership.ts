/**
 * The ownership TXT record `_ec2ip.<name>.<zone>` and the rules of who may write a name.
 * A name belongs to ec2ip only when its TXT carries this stack's owner id and region.
 */

export interface Ownership {
  owner: string;
  region: string;
  instance: string;
}

/** The TXT value, quoted as Route 53 stores it. */
export function formatOwnership(o: Ownership): string {
  return `"heritage=ec2ip,owner=${o.owner},region=${o.region},instance=${o.instance}"`;
}

/** Reads an ownership TXT value; undefined if it is not ec2ip's format. */
export function parseOwnership(value: string): Ownership | undefined {
  const unquoted = value.replace(/^"|"$/g, '').replace(/" "/g, '');
  const fields = new Map<string, string>();
  for (const part of unquoted.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return undefined;
    fields.set(part.slice(0, eq), part.slice(eq + 1));
  }
  const owner = fields.get('owner');
  const region = fields.get('region');
  const instance = fields.get('instance');
  if (fields.get('heritage') !== 'ec2ip' || !owner || !region || !instance) return undefined;
  return { owner, region, instance };
}

/**
 * Which of several instances claiming one free name wins: the one launched first,
 * ties broken by the smaller instance id.
 */
export function firstLaunched<T extends { id: string; launchTime?: string }>(claimants: readonly T[]): T | undefined {
  let best: T | undefined;
  for (const c of claimants) {
    if (!best || compareLaunch(c, best) < 0) best = c;
  }
  return best;
}

function compareLaunch(a: { id: string; launchTime?: string }, b: { id: string; launchTime?: string }): number {
  const ta = launchMillis(a.launchTime);
  const tb = launchMillis(b.launchTime);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function launchMillis(time: string | undefined): number {
  const ms = time ? Date.parse(time) : Number.NaN;
  return Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms;
}
