/** `ec2ip list [--json]`: every published instance with its addresses, state and hostname. */
import { loadContext, type Context } from '../cli/context.js';
import { readHubRecords } from '../cli/hub-records.js';
import { readHostnames } from '../cli/hostnames.js';
import { EXIT, UsageError } from '../cli/errors.js';
import type { Io } from '../cli/io.js';
import { COMMON_HELP, parse } from '../cli/options.js';
import { readPublished, readStates } from '../cli/published.js';
import { formatTable, formatTime } from '../cli/table.js';

export const HELP = `Usage: ec2ip list [--json] [--hub]

Lists every instance published under the parameter prefix: its name, instance id,
state, public and private IPv4, IPv6 address, hostname and when its parameters last changed.
The hostname is the instance's name in the public zone when one is configured,
else in the private zone; only where ec2ip owns the name for that instance (a
name refused because someone else's record is there has no hostname). STATE is "-" when your credentials may not call
ec2:DescribeInstances, "gone" when EC2 no longer knows the instance.

In the DNS account of a hub (docs/many-accounts.md), --hub lists every name the hub
owns, from its zones: with an ACCOUNT and REGION column for where each instance lives.
(The parameters stay in each member account; list them there without --hub.)

Options:
  --json   one JSON array for scripts (absent values are null)
  --hub    the hub's view: every account's names, from the zones

${COMMON_HELP}
`;

/** One row of `list --json`. */
export interface ListEntry {
  name: string;
  instanceId: string | null;
  state: string | null;
  publicIp: string | null;
  privateIp: string | null;
  ipv6: string | null;
  hostname: string | null;
  privateHostname: string | null;
  lastModified: string | null;
}

export async function list(args: string[], io: Io): Promise<number> {
  const { values } = parse(args, { json: { type: 'boolean' }, hub: { type: 'boolean' } });
  if (values.help) {
    io.stdout(HELP);
    return EXIT.ok;
  }
  const ctx = await loadContext(values, io);
  if (values.hub) return listHub(ctx, values.json ?? false, io);
  const [published, hostnames] = await Promise.all([readPublished(ctx.clients.ssm, ctx.config.prefix), readHostnames(ctx, io.stderr)]);
  const ids = published.flatMap((p) => (p.instanceId ? [p.instanceId] : []));
  const states = await readStates(ctx.clients.ec2, ids);

  const entries: ListEntry[] = published.map((p) => {
    const { public: publicName, private: privateName } = hostnames(p.name, p.instanceId);
    return {
      name: p.name,
      instanceId: p.instanceId ?? null,
      state: (p.instanceId && states?.get(p.instanceId)) || null,
      publicIp: p.publicIp ?? null,
      privateIp: p.privateIp ?? null,
      ipv6: p.ipv6 ?? null,
      hostname: publicName ?? privateName ?? null,
      privateHostname: privateName ?? null,
      lastModified: p.lastModified ? formatTime(p.lastModified) : null,
    };
  });

  if (values.json) {
    io.stdout(`${JSON.stringify(entries, null, 2)}\n`);
    return EXIT.ok;
  }
  if (entries.length === 0) {
    io.stderr(`no instances are published under ${ctx.config.prefix} in ${ctx.config.region} (tag one ec2ip:name=NAME, or check --prefix and --region)\n`);
    return EXIT.ok;
  }
  const dash = (v: string | null) => v ?? '-';
  io.stdout(
    formatTable(
      ['NAME', 'INSTANCE', 'STATE', 'PUBLIC IP', 'PRIVATE IP', 'IPV6', 'HOSTNAME', 'LAST CHANGE'],
      entries.map((e) => [e.name, dash(e.instanceId), dash(e.state), dash(e.publicIp), dash(e.privateIp), dash(e.ipv6), dash(e.hostname), dash(e.lastModified)]),
    ),
  );
  if (!states && ids.length > 0) io.stderr('STATE is "-": access denied to ec2:DescribeInstances\n');
  return EXIT.ok;
}

/** `list --hub`: the names the hub owns in its zones, one row per name and account. */
async function listHub(ctx: Context, json: boolean, io: Io): Promise<number> {
  if ((await ctx.zones()).length === 0) throw new UsageError('list --hub reads the hub\'s zones: pass --hosted-zone-id / --private-hosted-zone-id, or --stack-name of the hub stack');
  const entries = await readHubRecords(ctx);
  if (json) {
    io.stdout(`${JSON.stringify(entries, null, 2)}\n`);
    return EXIT.ok;
  }
  if (entries.length === 0) {
    io.stderr(`the hub ${ctx.config.ownerId} owns no names in its zones yet\n`);
    return EXIT.ok;
  }
  const dash = (v: string | null) => v ?? '-';
  io.stdout(
    formatTable(
      ['NAME', 'ACCOUNT', 'REGION', 'INSTANCE', 'PUBLIC IP', 'PRIVATE IP', 'HOSTNAME'],
      entries.map((e) => [e.name, e.account, e.region, e.instanceId, dash(e.publicIp), dash(e.privateIp), dash(e.hostname)]),
    ),
  );
  return EXIT.ok;
}
