/**
 * The ownership TXT record `_ec2ip.<name>.<zone>` and the rules of who may write a name.
 * A name belongs to ec2ip only when its TXT carries this stack's owner id and region
 * (single-account mode), or this hub's owner id and an account (hub mode).
 */

export interface Ownership {
  owner: string;
  region: string;
  /** The member account of the instance; only in records a hub writes. */
  account?: string;
  instance: string;
}

/**
 * The TXT value, quoted as Route 53 stores it. Without an account it is exactly the
 * single-account format; a hub's records add `account=<id>` before the instance.
 */
export function formatOwnership(o: Ownership): string {
  const account = o.account === undefined ? '' : `,account=${o.account}`;
  return `"heritage=ec2ip,owner=${o.owner},region=${o.region}${account},instance=${o.instance}"`;
}

/** Who an instance is in a plan: its id alone, or `<account>/<region>/<id>` for a hub's spoke instance. */
export function instanceKey(i: { id: string; account?: string | undefined; region?: string | undefined }): string {
  return i.account === undefined ? i.id : `${i.account}/${i.region ?? ''}/${i.id}`;
}

/** `<account>/<region>`: how a hub keys and names a spoke. */
export function spokeKey(spoke: { account: string; region: string }): string {
  return `${spoke.account}/${spoke.region}`;
}

/** The key of the instance an ownership record names (see instanceKey). */
export function ownershipKey(o: Ownership): string {
  return instanceKey({ id: o.instance, account: o.account, region: o.region });
}

/** The id, account and region a key stands for. */
export function parseInstanceKey(key: string): { id: string; account?: string; region?: string } {
  const parts = key.split('/');
  if (parts.length === 3 && parts[0] && parts[1] && parts[2]) return { account: parts[0], region: parts[1], id: parts[2] };
  return { id: key };
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
  const account = fields.get('account');
  if (fields.get('heritage') !== 'ec2ip' || !owner || !region || !instance) return undefined;
  if (fields.has('account') && !/^\d{12}$/.test(account ?? '')) return undefined;
  return account === undefined ? { owner, region, instance } : { owner, region, account, instance };
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
