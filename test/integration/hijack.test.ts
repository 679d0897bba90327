/**
 * Hijack attempts through the built handler on moto, one test per case: whoever can tag an
 * instance tries to point a hostname at it. Each test compares every record of every zone
 * (ec2ip's two and an unrelated third) and every parameter in the account before and after
 * a state-change event, a tag-change event and a full reconcile: nothing may change beyond
 * what SPEC "Ownership" and "Opting in" allow.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { loadPinnedHandler } from '../support/bundle.js';
import { createWorld, ownershipValue, type World } from '../support/convergence.js';
import { scheduledEvent, stateChangeEvent, tagChangeEvent } from '../support/events.js';
import {
  createZone,
  describe as describeInstance,
  getParameters,
  listRecords,
  putRecord,
  runInstance,
  useMoto,
  type Handler,
  type RecordSet,
} from '../support/moto.js';
import { captureStdout } from '../support/output.js';
import { useIamAudit } from '../support/iam-audit.js';

interface Everything {
  public: RecordSet[];
  private: RecordSet[];
  otherZone: RecordSet[];
  parameters: Record<string, string>;
}

const byName = (a: RecordSet, b: RecordSet) => (a.name === b.name ? a.type.localeCompare(b.type) : a.name.localeCompare(b.name));

describe('hijack attempts', () => {
  useMoto();
  useIamAudit('function');
  let world: World;
  let otherZoneId: string;
  let handler: Handler;

  beforeEach(async () => {
    world = await createWorld();
    // A zone ec2ip is not configured for, holding a name an attacker may aim at.
    otherZoneId = await createZone('other-zone.com');
    await putRecord(otherZoneId, { name: 'web.other-zone.com', type: 'A', values: ['192.0.2.99'] });
    handler = await loadPinnedHandler(world.env);
  });

  async function everything(): Promise<Everything> {
    const [pub, priv, other, parameters] = await Promise.all([listRecords(world.publicZoneId), listRecords(world.privateZoneId), listRecords(otherZoneId), getParameters('/')]);
    return { public: pub.sort(byName), private: priv.sort(byName), otherZone: other.sort(byName), parameters };
  }

  /** Sends the instance's running event, a tag change and a reconcile; returns their log lines. */
  async function attempt(id: string, tag: string) {
    const lines: Record<string, unknown>[] = [];
    const results: unknown[] = [];
    for (const event of [stateChangeEvent(id, 'running'), tagChangeEvent(id, { 'ec2ip:name': tag }, ['ec2ip:name']), scheduledEvent()]) {
      const out = await captureStdout(() => handler(event));
      results.push(out.result);
      lines.push(...out.lines);
    }
    return { lines, results };
  }

  /** The records and parameters an instance that holds `name` gets. */
  async function publishedFor(id: string, name: string): Promise<{ public: RecordSet[]; private: RecordSet[]; parameters: Record<string, string> }> {
    const i = await describeInstance(id);
    const ip = (v: string | undefined) => v ?? 'missing';
    return {
      public: [
        { name: `${name}.example.com`, type: 'A', ttl: 60, values: [ip(i.PublicIpAddress)] },
        { name: `_ec2ip.${name}.example.com`, type: 'TXT', ttl: 60, values: [ownershipValue(id)] },
      ],
      private: [
        { name: `${name}.internal.example`, type: 'A', ttl: 60, values: [ip(i.PrivateIpAddress)] },
        { name: `_ec2ip.${name}.internal.example`, type: 'TXT', ttl: 60, values: [ownershipValue(id)] },
      ],
      parameters: { [`/ec2ip/${name}/instance-id`]: id, [`/ec2ip/${name}/private-ip`]: i.PrivateIpAddress as string, [`/ec2ip/${name}/public-ip`]: i.PublicIpAddress as string },
    };
  }

  function expectDone(results: unknown[]) {
    // SPEC: an invalid name, or one owned by someone else: done (never retried), no write.
    expect(results).toEqual([{ status: 'done', items: 1 }, { status: 'done', items: 1 }, { status: 'done', items: 1 }]);
  }

  describe('names that are not valid relative names are refused with no write anywhere', () => {
    const label63 = 'a'.repeat(63);
    // `_ec2ip.<name>.internal.example.` must fit in 253 characters: 229 is the longest name.
    const longest = [label63, label63, label63, 'b'.repeat(229 - 3 * 64)].join('.');
    it.each([
      ['a wildcard', '*'],
      ['a wildcard label', '*.web'],
      ['an empty value', ''],
      ['an empty label', 'a..b'],
      ['a leading dot', '.web'],
      ['a trailing dot (an absolute name outside the zone)', 'evil.com.'],
      ['a 64-character label', 'a'.repeat(64)],
      ['a path', '../x'],
      ['a parameter path', 'web/instance-id'],
      ['the ownership name of another name', '_ec2ip.web'],
      ['an underscore', 'my_host'],
      ['a leading hyphen', '-web'],
      ['a trailing hyphen', 'web-'],
      ['unicode', 'wéb'],
      ['cyrillic that looks like latin', 'wеb'],
      ['a space', 'web server'],
      ['a newline', 'web\nx'],
      ['an @', 'web@example.com'],
      ['a name whose ownership record exceeds 253 characters in one configured zone', `${longest}b`],
    ])('refuses %s (%j)', async (_case, tag) => {
      const id = await runInstance({ tags: { 'ec2ip:name': tag } });
      const before = await everything();
      const { lines, results } = await attempt(id, tag);
      expect(await everything()).toEqual(before);
      expectDone(results);
      const refusals = lines.filter((l) => l.message === 'name refused' && l.instanceId === id);
      expect(refusals).toHaveLength(3);
      expect(refusals[0]?.level).toBe('WARN');
      expect(String(refusals[0]?.reason)).toMatch(/ec2ip:name/);
      expect(lines.filter((l) => l.level === 'ERROR')).toEqual([]);
    });

    it('accepts the longest name that fits in every configured zone, and a 63-character label, writing only inside the zones', async () => {
      for (const name of [longest, label63]) {
        const id = await runInstance({ tags: { 'ec2ip:name': name } });
        const before = await everything();
        await attempt(id, name);
        const want = await publishedFor(id, name);
        expect(await everything()).toEqual({
          public: [...before.public, ...want.public].sort(byName),
          private: [...before.private, ...want.private].sort(byName),
          otherZone: before.otherZone,
          parameters: { ...before.parameters, ...want.parameters },
        });
      }
    });
  });

  it('treats a name that looks like another zone as relative: web.other-zone.com lands inside example.com, the other zone is untouched', async () => {
    const id = await runInstance({ tags: { 'ec2ip:name': 'web.other-zone.com' } });
    const before = await everything();
    const { lines } = await attempt(id, 'web.other-zone.com');
    const want = await publishedFor(id, 'web.other-zone.com');
    expect(await everything()).toEqual({
      public: [...before.public, ...want.public].sort(byName),
      private: [...before.private, ...want.private].sort(byName),
      otherZone: before.otherZone,
      parameters: { ...before.parameters, ...want.parameters },
    });
    expect(lines.filter((l) => l.level === 'ERROR')).toEqual([]);
  });

  it('maps an uppercase name to the lowercase one and never creates a second name for it', async () => {
    const owner = await runInstance({ tags: { 'ec2ip:name': 'Web' } });
    const before = await everything();
    await attempt(owner, 'Web');
    const want = await publishedFor(owner, 'web');
    const published = await everything();
    expect(published).toEqual({
      public: [...before.public, ...want.public].sort(byName),
      private: [...before.private, ...want.private].sort(byName),
      otherZone: before.otherZone,
      parameters: { ...before.parameters, ...want.parameters },
    });

    // `WEB` is the same name, held by the first instance: a conflict, not a new name.
    const rival = await runInstance({ tags: { 'ec2ip:name': 'WEB' } });
    const { lines, results } = await attempt(rival, 'WEB');
    expect(await everything()).toEqual(published);
    expectDone(results);
    expect(lines.filter((l) => l.message === 'name conflict' && l.instanceId === rival).length).toBeGreaterThan(0);
  });

  it('refuses a name another instance owns, in both zones and in SSM, even after a reconcile', async () => {
    const owner = await runInstance({ tags: { 'ec2ip:name': 'web' } });
    await attempt(owner, 'web');
    const published = await everything();
    expect(published.parameters['/ec2ip/web/instance-id']).toBe(owner);

    const rival = await runInstance({ tags: { 'ec2ip:name': 'web' } });
    const { lines, results } = await attempt(rival, 'web');
    expect(await everything()).toEqual(published);
    expectDone(results);
    const conflicts = lines.filter((l) => l.message === 'name conflict' && l.instanceId === rival);
    expect(new Set(conflicts.map((l) => l.zone))).toEqual(new Set(['example.com', 'internal.example', 'SSM']));
  });

  it.each([
    ['a plain A record without an ownership record', 'legacy'],
    ['a CNAME', 'www'],
    ['records of another stack in this region', 'shop'],
    ['records of this stack name in another region', 'other'],
  ])('leaves %s alone and blocks that zone only', async (_case, name) => {
    const id = await runInstance({ tags: { 'ec2ip:name': name } });
    const before = await everything();
    const { lines, results } = await attempt(id, name);
    const want = await publishedFor(id, name);
    const after = await everything();
    expect(after.public).toEqual(before.public);
    expect(after.otherZone).toEqual(before.otherZone);
    // The private zone and SSM hold no foreign record at the name: there the instance gets it.
    expect(after.private).toEqual([...before.private, ...want.private].sort(byName));
    expect(after.parameters).toEqual({ ...before.parameters, ...want.parameters });
    expectDone(results);
    const refusals = lines.filter((l) => l.message === 'name owned by someone else' && l.instanceId === id);
    expect(refusals.length).toBeGreaterThan(0);
    expect(refusals.every((l) => l.zone === 'example.com')).toBe(true);
  });

  it('leaves a foreign record at the ownership name alone', async () => {
    await putRecord(world.publicZoneId, { name: '_ec2ip.api.example.com', type: 'TXT', values: ['"heritage=external-dns,owner=default"'] });
    await putRecord(world.privateZoneId, { name: '_ec2ip.api.internal.example', type: 'A', values: ['10.1.1.1'] });
    const id = await runInstance({ tags: { 'ec2ip:name': 'api' } });
    const before = await everything();
    const { results } = await attempt(id, 'api');
    const after = await everything();
    expect(after.public).toEqual(before.public);
    expect(after.private).toEqual(before.private);
    expect(after.parameters).toEqual({ ...before.parameters, ...(await publishedFor(id, 'api')).parameters });
    expectDone(results);
  });

  it('does not take over a name when a forged ownership record names the attacker', async () => {
    // Someone writes ec2ip's TXT format by hand, pointing at their instance, next to a record they do not own.
    const attacker = await runInstance({ tags: { 'ec2ip:name': 'legacy' } });
    await putRecord(world.publicZoneId, { name: '_ec2ip.legacy.example.com', type: 'TXT', values: [ownershipValue(attacker, 'someone-else')] });
    const before = await everything();
    await attempt(attacker, 'legacy');
    expect((await everything()).public).toEqual(before.public);
  });


  it('does not take over a name when a forged ownership record in ec2ip’s own format names another instance', async () => {
    // The attacker launches first, so without the record it would win the name; the record,
    // in this stack's own format, names another instance that runs and claims the name.
    const attacker = await runInstance({ tags: { 'ec2ip:name': 'legacy' } });
    await new Promise((r) => setTimeout(r, 1100)); // moto's LaunchTime has whole seconds
    const named = await runInstance({ tags: { 'ec2ip:name': 'legacy' } });
    await putRecord(world.publicZoneId, { name: '_ec2ip.legacy.example.com', type: 'TXT', values: [ownershipValue(named)] });
    const { lines, results } = await attempt(attacker, 'legacy');
    expectDone(results);
    const a = await describeInstance(attacker);
    const n = await describeInstance(named);
    expect(a.PublicIpAddress).toBeDefined();
    // The public zone's name stays with the instance the record names; nothing there points at the attacker.
    const legacy = (await everything()).public.filter((r) => r.name.endsWith('legacy.example.com'));
    expect(legacy).toEqual([
      { name: '_ec2ip.legacy.example.com', type: 'TXT', ttl: 300, values: [ownershipValue(named)] },
      { name: 'legacy.example.com', type: 'A', ttl: 60, values: [n.PublicIpAddress as string] },
    ]);
    const conflicts = lines.filter((l) => l.message === 'name conflict' && l.instanceId === attacker && l.zone === 'example.com');
    expect(conflicts.length).toBeGreaterThan(0);
    expect(String(conflicts[0]?.reason)).toContain(named);
  });
});
