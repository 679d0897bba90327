/**
 * The truth a sync must converge to, for the reliability and hijack tests: a standard
 * world on moto (a public and a private zone, foreign records and parameters planted in
 * both), snapshots of everything ec2ip could touch, and checks that return the list of
 * violations (empty when the world is right) so a failing property prints all of them.
 */
import { DescribeInstancesCommand, type Instance as Ec2Instance } from '@aws-sdk/client-ec2';
import { createZone, getParameters, listRecords, motoClients, putParameter, putRecord, type RecordSet } from './moto.js';

export const PUBLIC_ZONE = 'example.com';
export const PRIVATE_ZONE = 'internal.example';
export const PREFIX = '/ec2ip';
export const OWNER = 'ec2ip';
export const REGION = 'us-east-1';

/** The ownership TXT value ec2ip writes for `instanceId`. */
export const ownershipValue = (instanceId: string, owner = OWNER, region = REGION) =>
  `"heritage=ec2ip,owner=${owner},region=${region},instance=${instanceId}"`;

/** Paths outside the prefix that hold someone else's parameters (one shares the prefix's first characters). */
export const FOREIGN_PARAMETER_ROOTS = ['/ec2ipx', '/other', '/ec2ip-prod'];

/** Records and parameters ec2ip must never touch, planted before a test. */
export const FOREIGN = {
  public: [
    // A plain record at a name an instance may claim: someone else's.
    { name: 'legacy.example.com', type: 'A', values: ['192.0.2.10'], ttl: 300 },
    // The same stack name in another region: someone else's too.
    { name: 'other.example.com', type: 'A', values: ['198.51.100.7'], ttl: 60 },
    { name: '_ec2ip.other.example.com', type: 'TXT', values: [ownershipValue('i-0aaaaaaaaaaaaaaaa', OWNER, 'eu-west-1')], ttl: 60 },
    // Another stack in this region.
    { name: 'shop.example.com', type: 'A', values: ['198.51.100.8'], ttl: 60 },
    { name: '_ec2ip.shop.example.com', type: 'TXT', values: [ownershipValue('i-0bbbbbbbbbbbbbbbb', 'other-stack')], ttl: 60 },
    // Records of unrelated types and names.
    { name: 'www.example.com', type: 'CNAME', values: ['legacy.example.com'], ttl: 300 },
    { name: 'example.com', type: 'MX', values: ['10 mail.example.com'], ttl: 300 },
    { name: 'example.com', type: 'TXT', values: ['"v=spf1 -all"'], ttl: 300 },
  ],
  private: [{ name: 'db.internal.example', type: 'A', values: ['10.9.9.9'], ttl: 300 }],
  parameters: {
    '/ec2ipx/web/instance-id': 'i-0cccccccccccccccc',
    '/ec2ipx/web/public-ip': '203.0.113.5',
    '/other/web/public-ip': '203.0.113.6',
    '/ec2ip-prod/web/instance-id': 'i-0dddddddddddddddd',
  } as Record<string, string>,
};

export interface World {
  publicZoneId: string;
  privateZoneId: string;
  /** The environment for `loadHandler`. */
  env: Record<string, string | undefined>;
}

/** Creates both zones and plants the foreign records and parameters (moto must be reset first). */
export async function createWorld(extraEnv: Record<string, string | undefined> = {}): Promise<World> {
  const publicZoneId = await createZone(PUBLIC_ZONE);
  const privateZoneId = await createZone(PRIVATE_ZONE, { private: true });
  for (const r of FOREIGN.public) await putRecord(publicZoneId, r);
  for (const r of FOREIGN.private) await putRecord(privateZoneId, r);
  for (const [name, value] of Object.entries(FOREIGN.parameters)) await putParameter(name, value);
  return {
    publicZoneId,
    privateZoneId,
    env: {
      HOSTED_ZONE_ID: publicZoneId,
      PRIVATE_HOSTED_ZONE_ID: privateZoneId,
      PARAMETER_PREFIX: undefined,
      OWNER_ID: undefined,
      ON_STOP: undefined,
      RECORD_TTL: undefined,
      LOG_LEVEL: undefined,
      // Where the describe points the SDK (useMoto: moto; useIamAudit: the audit's proxy in front of
      // it), with the project's own retry and timeout settings, unless a test says otherwise.
      AWS_ENDPOINT_URL: process.env.AWS_ENDPOINT_URL ?? motoClients().endpoint,
      AWS_MAX_ATTEMPTS: undefined,
      AWS_RETRY_MODE: undefined,
      EC2IP_REQUEST_TIMEOUT_MS: undefined,
      ...extraEnv,
    },
  };
}

/** Everything ec2ip could have written: both zones (all records) and every parameter under `/`. */
export interface Snapshot {
  public: RecordSet[];
  private: RecordSet[];
  parameters: Record<string, string>;
}

export async function snapshot(world: World): Promise<Snapshot> {
  const [pub, priv, parameters] = await Promise.all([listRecords(world.publicZoneId), listRecords(world.privateZoneId), getParameters('/')]);
  return { public: sortRecords(pub), private: sortRecords(priv), parameters: sortObject(parameters) };
}

function sortRecords(records: RecordSet[]): RecordSet[] {
  return [...records].sort((a, b) => (a.name === b.name ? a.type.localeCompare(b.type) : a.name.localeCompare(b.name)));
}

function sortObject(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}

/** The instances with these ids as DescribeInstances shows them now (terminated ones included). */
export async function describeAll(ids: readonly string[]): Promise<Ec2Instance[]> {
  if (ids.length === 0) return [];
  const out = await motoClients().ec2.send(new DescribeInstancesCommand({ InstanceIds: [...ids] }));
  return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** The name an `ec2ip:name` tag claims per SPEC "Opting in", or undefined if it is refused. */
export function claimedName(tag: string | undefined): string | undefined {
  if (tag === undefined) return undefined;
  const name = tag.toLowerCase();
  if (!name.split('.').every((l) => LABEL.test(l))) return undefined;
  for (const zone of [PUBLIC_ZONE, PRIVATE_ZONE]) if (`_ec2ip.${name}.${zone}`.length > 253) return undefined;
  return name;
}

export interface TruthOptions {
  onStop?: 'delete' | 'keep';
  /** Every public IPv4 an instance ever had (for ON_STOP=keep, where the last published one may stay). */
  publicIpHistory?: ReadonlyMap<string, ReadonlySet<string>>;
  /** Require the same holder for a name in both zones and in SSM. */
  sameHolderEverywhere?: boolean;
}

interface Truthy {
  id: string;
  state: string;
  name?: string;
  publicIp?: string;
  privateIp?: string;
}

const tagOf = (i: Ec2Instance, key: string) => i.Tags?.find((t) => t.Key === key)?.Value;

/** Keys of a record for comparing sets of records. */
const key = (r: RecordSet) => JSON.stringify([r.name.toLowerCase(), r.type, r.ttl, [...r.values].sort(), r.setIdentifier ?? null]);

/**
 * Safety, which must hold at every moment (mid-run, after a failed batch): every foreign
 * record and parameter is there byte-identical; no record set appears twice; nothing was
 * written at a foreign name; every A/AAAA record ec2ip wrote sits beside its ownership TXT;
 * no parameter appeared outside the prefix.
 */
export function safetyViolations(before: Snapshot, now: Snapshot): string[] {
  const out: string[] = [];
  for (const kind of ['public', 'private'] as const) {
    const zone = kind === 'public' ? PUBLIC_ZONE : PRIVATE_ZONE;
    const foreign = before[kind];
    const nowKeys = new Set(now[kind].map(key));
    for (const r of foreign) if (!nowKeys.has(key(r))) out.push(`${kind} zone: foreign record ${r.type} ${r.name} ${r.values.join(' ')} was changed or deleted`);
    const seen = new Map<string, number>();
    for (const r of now[kind]) seen.set(`${r.name.toLowerCase()} ${r.type}`, (seen.get(`${r.name.toLowerCase()} ${r.type}`) ?? 0) + 1);
    for (const [k, n] of seen) if (n > 1) out.push(`${kind} zone: ${n} record sets at ${k}`);
    const foreignNames = new Set(foreign.map((r) => r.name.toLowerCase()));
    const foreignKeys = new Set(foreign.map(key));
    const ours = now[kind].filter((r) => !foreignKeys.has(key(r)));
    for (const r of ours) {
      const name = r.name.toLowerCase();
      if (foreignNames.has(name)) out.push(`${kind} zone: ${r.type} ${r.name} ${r.values.join(' ')} was written at a name that is not ec2ip's`);
      const rel = relativeName(name, zone);
      if (rel === undefined) {
        out.push(`${kind} zone: ${r.type} ${r.name} is outside ${zone} or not a name ec2ip writes`);
        continue;
      }
      if (rel.ownership) {
        if (r.type !== 'TXT') out.push(`${kind} zone: ${r.type} at the ownership name ${r.name}`);
        else if (r.values.length !== 1 || !/^"heritage=ec2ip,owner=ec2ip,region=us-east-1,instance=i-[0-9a-f]+"$/.test(r.values[0] ?? '')) {
          out.push(`${kind} zone: ownership record ${r.name} holds ${r.values.join(' ')}`);
        }
        continue;
      }
      if (r.type !== 'A' && r.type !== 'AAAA') out.push(`${kind} zone: ec2ip wrote a ${r.type} record at ${r.name}`);
      if (!ours.some((t) => t.type === 'TXT' && t.name.toLowerCase() === `_ec2ip.${name}`)) {
        out.push(`${kind} zone: ${r.type} ${r.name} ${r.values.join(' ')} has no ec2ip ownership record beside it`);
      }
    }
  }
  for (const [name, value] of Object.entries(before.parameters)) {
    if (!name.startsWith(`${PREFIX}/`) && now.parameters[name] !== value) out.push(`parameter ${name} (not ec2ip's) is now ${JSON.stringify(now.parameters[name])}, was ${JSON.stringify(value)}`);
  }
  for (const name of Object.keys(now.parameters)) {
    if (!name.startsWith(`${PREFIX}/`) && !(name in before.parameters)) out.push(`parameter ${name} was written outside ${PREFIX}`);
  }
  return out;
}

/** `{ name, ownership }` for `<name>.<zone>` or `_ec2ip.<name>.<zone>` (lower case, trailing dot optional). */
function relativeName(fqdn: string, zone: string): { name: string; ownership: boolean } | undefined {
  const f = fqdn.replace(/\.$/, '');
  if (!f.endsWith(`.${zone}`)) return undefined;
  const rest = f.slice(0, -zone.length - 1);
  if (rest.startsWith('_ec2ip.')) return { name: rest.slice('_ec2ip.'.length), ownership: true };
  return rest.length > 0 ? { name: rest, ownership: false } : undefined;
}

/**
 * Convergence, after a reconcile: the zones and parameters equal the truth computed from the
 * instances' final state. Where history decides (which claimant holds a shared name) it
 * checks the invariants: the holder is a live instance tagged with that name, its records
 * carry its current addresses, exactly one ownership TXT names it, nothing is left for
 * terminated or untagged instances, and foreign records are untouched.
 */
export function truthViolations(before: Snapshot, now: Snapshot, instances: readonly Ec2Instance[], options: TruthOptions = {}): string[] {
  const out = safetyViolations(before, now);
  const onStop = options.onStop ?? 'delete';
  const all: Truthy[] = instances.map((i) => {
    const t: Truthy = { id: i.InstanceId ?? '', state: i.State?.Name ?? '' };
    const name = claimedName(tagOf(i, 'ec2ip:name'));
    if (name) t.name = name;
    if (i.PublicIpAddress) t.publicIp = i.PublicIpAddress;
    if (i.PrivateIpAddress) t.privateIp = i.PrivateIpAddress;
    return t;
  });
  const alive = all.filter((i) => i.state !== 'terminated' && i.state !== 'shutting-down');
  const claimants = (name: string) => alive.filter((i) => i.name === name);
  const byId = new Map(all.map((i) => [i.id, i]));

  const names = new Set<string>();
  for (const i of alive) if (i.name) names.add(i.name);
  const holders = new Map<string, Map<string, string>>();
  const hold = (name: string, where: string, id: string) => {
    const m = holders.get(name) ?? new Map<string, string>();
    m.set(where, id);
    holders.set(name, m);
  };

  for (const kind of ['public', 'private'] as const) {
    const zone = kind === 'public' ? PUBLIC_ZONE : PRIVATE_ZONE;
    const foreignKeys = new Set(before[kind].map(key));
    const foreignNames = new Set(before[kind].map((r) => r.name.toLowerCase()));
    const ours = now[kind].filter((r) => !foreignKeys.has(key(r)));
    const zoneNames = new Set(names);
    for (const r of ours) {
      const rel = relativeName(r.name.toLowerCase(), zone);
      if (rel) zoneNames.add(rel.name);
    }
    for (const name of zoneNames) {
      const fqdn = `${name}.${zone}`;
      const own = `_ec2ip.${fqdn}`;
      if (foreignNames.has(fqdn) || foreignNames.has(own)) continue; // someone else's: safety covers it
      const at = ours.filter((r) => r.name.toLowerCase() === fqdn);
      const txts = ours.filter((r) => r.name.toLowerCase() === own);
      const cs = claimants(name);
      if (cs.length === 0) {
        for (const r of [...at, ...txts]) out.push(`${kind} zone: ${r.type} ${r.name} ${r.values.join(' ')} remains, but no live instance claims "${name}"`);
        continue;
      }
      const txt = txts.find((r) => r.type === 'TXT');
      const ownerId = /instance=(i-[0-9a-f]+)"$/.exec(txt?.values[0] ?? '')?.[1];
      if (!txt || !ownerId) {
        out.push(`${kind} zone: no ownership record at ${own} though ${cs.map((c) => c.id).join(', ')} claim "${name}"`);
        continue;
      }
      const holder = cs.find((c) => c.id === ownerId);
      if (!holder) {
        const o = byId.get(ownerId);
        out.push(`${kind} zone: ${own} names ${ownerId} (${o ? `${o.state}, tag ${o.name ?? 'none'}` : 'unknown'}), not one of the claimants ${cs.map((c) => c.id).join(', ')}`);
        continue;
      }
      hold(name, kind, holder.id);
      const a = at.find((r) => r.type === 'A');
      const extra = at.filter((r) => r.type !== 'A');
      for (const r of extra) out.push(`${kind} zone: unexpected ${r.type} ${r.name}`);
      if (a && a.ttl !== 60) out.push(`${kind} zone: ${a.name} has TTL ${a.ttl}`);
      if (kind === 'private') {
        if (!a || a.values.join() !== holder.privateIp) out.push(`private zone: ${fqdn} A is ${a?.values.join(' ') ?? 'absent'}, ${holder.id} has private IP ${holder.privateIp}`);
      } else if (holder.state === 'running') {
        if (!a || a.values.join() !== holder.publicIp) out.push(`public zone: ${fqdn} A is ${a?.values.join(' ') ?? 'absent'}, ${holder.id} runs with public IP ${holder.publicIp}`);
      } else if (onStop === 'delete') {
        if (a) out.push(`public zone: ${fqdn} A ${a.values.join(' ')} remains while ${holder.id} is ${holder.state} (ON_STOP=delete)`);
      } else if (a && !options.publicIpHistory?.get(holder.id)?.has(a.values[0] ?? '')) {
        out.push(`public zone: ${fqdn} A ${a.values.join(' ')} is not an address ${holder.id} ever had`);
      }
    }
  }

  const folders = new Map<string, Map<string, string>>();
  for (const [parameter, value] of Object.entries(now.parameters)) {
    if (!parameter.startsWith(`${PREFIX}/`)) continue;
    const [name, leaf, ...more] = parameter.slice(PREFIX.length + 1).split('/');
    if (!name || !leaf || more.length > 0) {
      out.push(`parameter ${parameter} is not <prefix>/<name>/<leaf>`);
      continue;
    }
    const f = folders.get(name) ?? new Map<string, string>();
    f.set(leaf, value);
    folders.set(name, f);
  }
  for (const name of new Set([...names, ...folders.keys()])) {
    const leaves = folders.get(name) ?? new Map<string, string>();
    const cs = claimants(name);
    if (cs.length === 0) {
      for (const [leaf, value] of leaves) out.push(`parameter ${PREFIX}/${name}/${leaf}=${value} remains, but no live instance claims "${name}"`);
      continue;
    }
    const holder = cs.find((c) => c.id === leaves.get('instance-id'));
    if (!holder) {
      out.push(`parameters of "${name}": instance-id is ${leaves.get('instance-id') ?? 'absent'}, not one of the claimants ${cs.map((c) => c.id).join(', ')}`);
      continue;
    }
    hold(name, 'SSM', holder.id);
    const want = new Map<string, string>([['instance-id', holder.id]]);
    if (holder.privateIp) want.set('private-ip', holder.privateIp);
    if (holder.state === 'running' && holder.publicIp) want.set('public-ip', holder.publicIp);
    for (const [leaf, value] of want) if (leaves.get(leaf) !== value) out.push(`parameter ${PREFIX}/${name}/${leaf} is ${leaves.get(leaf) ?? 'absent'}, want ${value}`);
    for (const [leaf, value] of leaves) {
      if (want.has(leaf)) continue;
      const keptPublic = leaf === 'public-ip' && holder.state !== 'running' && onStop === 'keep' && options.publicIpHistory?.get(holder.id)?.has(value);
      if (!keptPublic) out.push(`parameter ${PREFIX}/${name}/${leaf}=${value} should not exist (${holder.id} is ${holder.state})`);
    }
  }

  if (options.sameHolderEverywhere) {
    for (const [name, where] of holders) {
      const ids = new Set(where.values());
      if (ids.size > 1) out.push(`"${name}" has different holders: ${[...where].map(([w, id]) => `${w} ${id}`).join(', ')}`);
    }
  }
  return out;
}
