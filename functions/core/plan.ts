/**
 * The planner: current records and parameters plus the instances' state → the changes
 * to make. Pure: no AWS imports, no clock, no I/O. Ownership and conflicts are decided
 * here, so every rule of SPEC "Ownership" is testable as a table.
 */
import { desired, isAlive, PARAMETER_LEAVES, type Want } from './desired.js';
import { HOST_KEYS_LEAF, parseHostKeyRecord } from './host-keys.js';
import { checkName, checkTemplateName, nameOfOwnershipFqdn, ownershipFqdn, parameterFolder, recordFqdn, splitParameter } from './names.js';
import { firstLaunched, formatOwnership, instanceKey, ownershipKey, parseInstanceKey, parseOwnership } from './ownership.js';
import type { Config, Instance, RecordSet, Spoke, Zone } from './types.js';

/** The current records of a zone: at least those at the names in scope and their ownership names. */
export interface ZoneView {
  zone: Zone;
  records: RecordSet[];
}

export interface PlanInput {
  config: Config;
  zones: ZoneView[];
  /** Current parameters under the prefix (name → value): at least the folders of the names in scope. */
  parameters: ReadonlyMap<string, string>;
  /** The instances this run is responsible for. */
  targets: Instance[];
  /** Other instances described in this run (owners of names in scope). */
  others?: Instance[];
  /**
   * Every instance DescribeInstances was asked about (by instanceKey: the id, or in a hub
   * `<account>/<region>/<id>`). An owner asked about but in neither list is gone; an owner
   * never asked about (another account the hub could not read, say) is unknown and keeps its name.
   */
  lookedUp?: ReadonlySet<string>;
  /** Keys that were asked about but no longer exist: the names they own are released. */
  vanished?: readonly string[];
  /** `all`: every name ec2ip owns is in scope (the reconcile); `targets`: only the targets' names. */
  scope: 'targets' | 'all';
  /** Running targets (keys) without a public IPv4 whose public parts stay as they are for now. */
  waitingForPublicIp?: ReadonlySet<string>;
  /**
   * What to plan: both (default), only the zones (a hub plans them once across its spokes)
   * or only the parameters (a hub plans them per spoke, in the spoke's own account).
   */
  part?: 'all' | 'zones' | 'parameters';
  /** The spoke whose parameters these are (a hub's `parameters` part): their instance ids are its instances. */
  spoke?: Spoke;
}

export type RecordAction = 'CREATE' | 'DELETE';
export interface RecordChange {
  action: RecordAction;
  record: RecordSet;
}

export type GroupReason = 'claim' | 'update' | 'takeover' | 'release';

/** The changes to one name in one zone: applied together or not at all. */
export interface ChangeGroup {
  name: string;
  reason: GroupReason;
  /** The instances (keys) whose outcome depends on this group (the holder, the previous owner). */
  instanceIds: string[];
  changes: RecordChange[];
}

export interface ZonePlan {
  zone: Zone;
  groups: ChangeGroup[];
}

export interface ParameterChange {
  /** `create` writes only if absent (a claim); `put` overwrites; `delete` removes. */
  action: 'create' | 'put' | 'delete';
  parameter: string;
  value?: string;
  name: string;
  /** The instances (keys) whose outcome depends on this change. */
  instanceIds: string[];
  /** In a hub: the spoke whose SSM the parameter is in. */
  account?: string;
  region?: string;
}

export type RefusalKind = 'invalid-name' | 'foreign' | 'conflict';
export interface Refusal {
  kind: RefusalKind;
  instanceId: string;
  /** In a hub: where the refused instance lives. */
  account?: string;
  region?: string;
  name?: string;
  /** The zone name, or `SSM`. */
  where?: string;
  reason: string;
}

export interface Plan {
  zones: ZonePlan[];
  parameters: ParameterChange[];
  refusals: Refusal[];
}

/** Counts the writes of a plan. */
export function changeCount(plan: Plan): number {
  return plan.zones.reduce((n, z) => n + z.groups.reduce((m, g) => m + g.changes.length, 0), 0) + plan.parameters.length;
}

interface Context {
  input: PlanInput;
  known: Map<string, Instance>;
  targetIds: Set<string>;
  /** The valid name each known instance (by key) claims. */
  claimOf: Map<string, string>;
  refusals: Refusal[];
  hub: boolean;
}

/** Computes the changes that make the zones and parameters match the instances. */
export function plan(input: PlanInput): Plan {
  const zoneNames = input.zones.map((z) => z.zone.name);
  const part = input.part ?? 'all';
  const known = new Map<string, Instance>();
  for (const i of input.others ?? []) known.set(instanceKey(i), i);
  for (const i of input.targets) known.set(instanceKey(i), i);
  const hub = input.config.hub !== undefined;
  const ctx: Context = { input, known, targetIds: new Set(input.targets.map(instanceKey)), claimOf: new Map(), refusals: [], hub };
  // The name template shapes record names only: parameters live in the instance's own account.
  const template = hub && part !== 'parameters' ? input.config.hub?.nameTemplate : undefined;

  for (const [key, instance] of known) {
    if (instance.nameTag === undefined) continue;
    let check = checkName(instance.nameTag, zoneNames);
    if (check.ok && template) check = checkTemplateName(template, check.name, instance, zoneNames, input.config.hub?.spokeNames);
    if (check.ok) ctx.claimOf.set(key, check.name);
    else if (ctx.targetIds.has(key) && isAlive(instance.state)) {
      ctx.refusals.push({ kind: 'invalid-name', instanceId: instance.id, ...where(instance), reason: check.reason });
    }
  }

  const names = namesInScope(ctx);
  const zones = input.zones.map((view) => ({
    zone: view.zone,
    groups: part === 'parameters' ? [] : names.flatMap((name) => planZoneName(ctx, view, name) ?? []),
  }));
  const parameters = part === 'zones' ? [] : names.flatMap((name) => planParameters(ctx, name));
  return { zones, parameters, refusals: ctx.refusals };
}

function namesInScope(ctx: Context): string[] {
  const { input, targetIds, claimOf } = ctx;
  const names = new Set<string>();
  for (const t of input.targets) {
    const name = claimOf.get(instanceKey(t));
    if (name) names.add(name);
  }
  const vanished = new Set(input.vanished);
  const ownedByScope = (key: string) => input.scope === 'all' || targetIds.has(key) || vanished.has(key);
  const part = input.part ?? 'all';
  for (const view of part === 'parameters' ? [] : input.zones) {
    for (const record of view.records) {
      if (record.type !== 'TXT') continue;
      const name = nameOfOwnershipFqdn(record.name, view.zone.name);
      const owner = ours(ctx, record);
      if (name && owner && ownedByScope(owner)) names.add(name);
    }
  }
  for (const [parameter, value] of part === 'zones' ? [] : input.parameters) {
    const split = splitParameter(input.config.prefix, parameter);
    if (!split) continue;
    if (split.leaf === 'instance-id' ? ownedByScope(parameterOwnerKey(ctx, value)) : input.scope === 'all') names.add(split.name);
  }
  return [...names].sort();
}

/** The key of the instance a `<name>/instance-id` parameter names: in a hub, an instance of the spoke the parameters are in. */
function parameterOwnerKey(ctx: Context, instanceId: string): string {
  const { spoke } = ctx.input;
  return ctx.hub && spoke ? instanceKey({ id: instanceId, ...spoke }) : instanceId;
}

/**
 * The key of the instance an ownership TXT names, if the record is this stack's: its owner
 * id and region in single-account mode (a hub's record, with an account, is someone else's);
 * this hub's owner id with an account in hub mode (a single-account stack's record is someone else's).
 */
function ours(ctx: Context, txt: RecordSet): string | undefined {
  const o = txt.values.length === 1 && txt.values[0] ? parseOwnership(txt.values[0]) : undefined;
  if (!o || o.owner !== ctx.input.config.ownerId) return undefined;
  if (ctx.hub) return o.account !== undefined ? ownershipKey(o) : undefined;
  return o.region === ctx.input.config.region && o.account === undefined ? o.instance : undefined;
}

/** Where an instance lives, for a hub's refusals and messages. */
function where(i: { account?: string | undefined; region?: string | undefined }): { account?: string; region?: string } {
  return i.account !== undefined && i.region !== undefined ? { account: i.account, region: i.region } : {};
}

/** An instance as messages name it: its id, and in a hub its account and region. */
function who(ctx: Context, i: { id: string; account?: string | undefined; region?: string | undefined }): string {
  return ctx.hub && i.account !== undefined ? `${i.id} (account ${i.account}, ${i.region})` : i.id;
}

/** Alive instances claiming `name`, targets and others. */
function claimantsOf(ctx: Context, name: string): Instance[] {
  return [...ctx.known].filter(([key, i]) => isAlive(i.state) && ctx.claimOf.get(key) === name).map(([, i]) => i);
}

/**
 * Who should hold a name whose current owner (if ours) is `ownerId`: the owner while it
 * lives and still claims the name, else the first launched claimant.
 */
function holderOf(ctx: Context, name: string, ownerKey: string | undefined): Instance | undefined {
  if (ownerKey && !ctx.known.has(ownerKey) && !ctx.input.lookedUp?.has(ownerKey) && !ctx.input.vanished?.includes(ownerKey)) {
    // Never looked up (in a hub: maybe an account it could not read): assume it lives, so a
    // name is never taken on a guess.
    return { ...parseInstanceKey(ownerKey), state: 'running', nameTag: name, ipv6: [] };
  }
  const owner = ownerKey ? ctx.known.get(ownerKey) : undefined;
  if (owner && isAlive(owner.state) && ctx.claimOf.get(ownerKey as string) === name) return owner;
  const claimants = claimantsOf(ctx, name);
  // Unowned here, but a claimant owns the name in another zone or in SSM (its other claim
  // landed, this one failed or is new): it keeps the name here too, so every zone and SSM
  // converge on one holder instead of the one launched first taking what is left.
  const elsewhere = ownersElsewhere(ctx, name);
  return firstLaunched(claimants.filter((c) => elsewhere.has(instanceKey(c)))) ?? firstLaunched(claimants);
}

/** Who owns `name` in any zone view or in the parameters of this plan: ownership keys. */
function ownersElsewhere(ctx: Context, name: string): Set<string> {
  const owners = new Set<string>();
  for (const view of ctx.input.zones) {
    const ownFqdn = ownershipFqdn(name, view.zone.name);
    const txt = view.records.find((r) => r.name === ownFqdn && r.type === 'TXT');
    const key = txt ? ours(ctx, txt) : undefined;
    if (key) owners.add(key);
  }
  const instanceId = ctx.input.parameters.get(`${parameterFolder(ctx.input.config.prefix, name)}/instance-id`);
  if (instanceId !== undefined) owners.add(parameterOwnerKey(ctx, instanceId));
  return owners;
}

function refuseClaimants(ctx: Context, name: string, at: string, kind: 'foreign' | 'conflict', reason: (claimant: Instance) => string, except?: string) {
  for (const c of claimantsOf(ctx, name)) {
    const key = instanceKey(c);
    if (key === except || !ctx.targetIds.has(key)) continue;
    ctx.refusals.push({ kind, instanceId: c.id, ...where(c), name, where: at, reason: reason(c) });
  }
}

/** A hub names both sides of a conflict: the refused instance and where it lives. */
function refusedSuffix(ctx: Context, claimant: Instance): string {
  return ctx.hub ? `; ${who(ctx, claimant)} is refused` : '';
}

function planZoneName(ctx: Context, view: ZoneView, name: string): ChangeGroup | undefined {
  const { config } = ctx.input;
  const { zone } = view;
  const fqdn = recordFqdn(name, zone.name);
  const ownFqdn = ownershipFqdn(name, zone.name);
  const atName = view.records.filter((r) => r.name === fqdn);
  const atOwnership = view.records.filter((r) => r.name === ownFqdn);
  const txt = atOwnership.find((r) => r.type === 'TXT');
  const where = zone.name;

  let ownerId: string | undefined;
  let foreign: string | undefined;
  if (txt) {
    ownerId = ours(ctx, txt);
    if (!ownerId) foreign = `${ownFqdn} holds ${txt.values.join(' ')}, which is not this stack's (owner ${config.ownerId}, ${ctx.hub ? 'a hub: its records name an account' : `region ${config.region}`})`;
  } else if (atOwnership.length > 0) {
    foreign = `${ownFqdn} has a ${atOwnership[0]?.type} record that ec2ip did not write`;
  } else if (atName.length > 0) {
    foreign = `${fqdn} has ${atName.map((r) => r.type).join(', ')} records without an ec2ip ownership record`;
  }
  if (!foreign && atName.some((r) => r.alias && (r.type === 'A' || r.type === 'AAAA'))) {
    foreign = `${fqdn} is an alias record, which ec2ip never writes`;
  }
  if (foreign) {
    refuseClaimants(ctx, name, where, 'foreign', () => `the name belongs to someone else in zone ${zone.name} (${zone.id}): ${foreign}`);
    return undefined;
  }

  const holder = holderOf(ctx, name, ownerId);
  const holderKey = holder ? instanceKey(holder) : undefined;
  if (holder && !ctx.targetIds.has(holderKey as string)) {
    refuseClaimants(ctx, name, where, 'conflict', (c) => `${fqdn} is owned by ${who(ctx, holder)}, which still runs with this name${refusedSuffix(ctx, c)}`);
    return undefined;
  }
  const managed = atName.filter((r) => r.type === 'A' || r.type === 'AAAA');

  if (!holder) {
    if (!ownerId || !txt) return undefined;
    const changes = [...managed.map((record) => del(record)), del(txt)];
    return { name, reason: 'release', instanceIds: [ownerId], changes };
  }

  refuseClaimants(ctx, name, where, 'conflict', (c) => `${fqdn} goes to ${who(ctx, holder)}, ${ownerId === holderKey ? 'which owns it' : 'which was launched first'}${refusedSuffix(ctx, c)}`, holderKey);
  const takeover = ownerId !== undefined && ownerId !== holderKey;
  const want = desired(holder, config, ctx.input.waitingForPublicIp?.has(holderKey as string)).records[zone.kind];
  const owner = ctx.hub ? { owner: config.ownerId, region: holder.region ?? config.region, account: holder.account ?? '', instance: holder.id } : { owner: config.ownerId, region: config.region, instance: holder.id };
  const ownership: RecordSet = { name: ownFqdn, type: 'TXT', ttl: config.ttl, values: [formatOwnership(owner)] };
  const changes: RecordChange[] = [];
  if (!txt) changes.push({ action: 'CREATE', record: ownership });
  else if (takeover) changes.push(del(txt), { action: 'CREATE', record: ownership });
  for (const type of ['A', 'AAAA'] as const) {
    const current = managed.find((r) => r.type === type);
    changes.push(...recordChanges(current, { name: fqdn, type, ttl: config.ttl }, takeover && want[type] === 'keep' ? 'absent' : want[type]));
  }
  if (changes.length === 0) return undefined;
  const reason = !txt ? 'claim' : takeover ? 'takeover' : 'update';
  return { name, reason, instanceIds: takeover && ownerId ? [holderKey as string, ownerId] : [holderKey as string], changes };
}

function del(record: RecordSet): RecordChange {
  return { action: 'DELETE', record };
}

function recordChanges(current: RecordSet | undefined, shape: Omit<RecordSet, 'values'>, want: Want): RecordChange[] {
  if (want === 'keep') return [];
  if (want === 'absent') return current ? [del(current)] : [];
  const next: RecordSet = { ...shape, values: want.values };
  if (!current) return [{ action: 'CREATE', record: next }];
  if (current.ttl === next.ttl && sameValues(current.values, next.values)) return [];
  return [del(current), { action: 'CREATE', record: next }];
}

function sameValues(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const sa = [...a].sort();
  const sb = [...b].sort();
  return sa.every((v, i) => v === sb[i]);
}

function planParameters(ctx: Context, name: string): ParameterChange[] {
  const { config, parameters } = ctx.input;
  const folder = parameterFolder(config.prefix, name);
  const current = new Map<string, string>();
  for (const [parameter, value] of parameters) {
    const split = splitParameter(config.prefix, parameter);
    if (split?.name === name) current.set(split.leaf, value);
  }
  const ownerInstance = current.get('instance-id');
  const ownerId = ownerInstance === undefined ? undefined : parameterOwnerKey(ctx, ownerInstance);
  const holder = holderOf(ctx, name, ownerId);
  const holderKey = holder ? instanceKey(holder) : undefined;
  const at = ctx.hub && ctx.input.spoke ? `SSM of account ${ctx.input.spoke.account} in ${ctx.input.spoke.region}` : 'SSM';
  if (holder && !ctx.targetIds.has(holderKey as string)) {
    refuseClaimants(ctx, name, at, 'conflict', (c) => `${folder}/ is owned by ${who(ctx, holder)}, which still runs with this name${refusedSuffix(ctx, c)}`);
    return [];
  }
  if (!holder) {
    if (current.size === 0) return [];
    return [...current.keys()].sort().map((leaf) => ({ action: 'delete', parameter: `${folder}/${leaf}`, name, instanceIds: ownerId ? [ownerId] : [] }));
  }

  refuseClaimants(ctx, name, at, 'conflict', (c) => `${folder}/ goes to ${who(ctx, holder)}, ${ownerId === holderKey ? 'which owns it' : 'which was launched first'}${refusedSuffix(ctx, c)}`, holderKey);
  const takeover = ownerId !== undefined && ownerId !== holderKey;
  const want = desired(holder, config, ctx.input.waitingForPublicIp?.has(holderKey as string)).parameters;
  const instanceIds = takeover && ownerId ? [holderKey as string, ownerId] : [holderKey as string];
  const changes: ParameterChange[] = [];
  for (const leaf of PARAMETER_LEAVES) {
    const w = takeover && want[leaf] === 'keep' ? 'absent' : want[leaf];
    const now = current.get(leaf);
    const parameter = `${folder}/${leaf}`;
    if (w === 'keep') continue;
    if (w === 'absent') {
      if (now !== undefined) changes.push({ action: 'delete', parameter, name, instanceIds });
      continue;
    }
    const value = w.values[0] ?? '';
    if (now === value) continue;
    // A claim writes only what is absent, so a racing claimant's values are never overwritten.
    const action = ownerId === undefined && now === undefined ? 'create' : 'put';
    changes.push({ action, parameter, value, name, instanceIds });
  }
  // Host keys are the holder's only: a record of another instance (or one that does not
  // parse) goes, and the holder's own is recorded afresh (functions/sync/host-keys.ts).
  const keys = current.get(HOST_KEYS_LEAF);
  if (!takeover && keys !== undefined) {
    const parsed = parseHostKeyRecord(keys);
    if (!('record' in parsed) || parsed.record.instance !== holder.id) changes.push({ action: 'delete', parameter: `${folder}/${HOST_KEYS_LEAF}`, name, instanceIds });
  }
  if (takeover) {
    for (const leaf of current.keys()) {
      if (!(PARAMETER_LEAVES as readonly string[]).includes(leaf)) changes.push({ action: 'delete', parameter: `${folder}/${leaf}`, name, instanceIds });
    }
  }
  return changes;
}
