/**
 * The zone checks: each configured zone exists and is public or private as configured; the
 * public zone is delegated to its own name servers in public DNS; its negative TTL against
 * ON_STOP=delete.
 */
import { Resolver } from 'node:dns/promises';
import { GetHostedZoneCommand, ListResourceRecordSetsCommand, type Route53Client } from '@aws-sdk/client-route-53';
import { configuredZones } from '../../functions/core/config.js';
import type { Config } from '../../functions/core/types.js';
import { probe, type Sink } from './probe.js';

/** After a delete, resolvers cache "no such name" this long at most before it is a warning (the records' own TTL). */
export const MAX_NEGATIVE_TTL = 60;

/** `servers`: the DNS resolvers to ask (`ip` or `ip:port`); undefined: the system's. */
export async function checkZones(route53: Route53Client, config: Config, servers: string[] | undefined, sink: Sink): Promise<void> {
  const zones = configuredZones(config);
  for (const z of zones) {
    await probe(sink, { section: 'zones', id: 'zone-exists', resource: z.id, action: 'route53:GetHostedZone' }, async () => {
      let out;
      try {
        out = await route53.send(new GetHostedZoneCommand({ Id: z.id }));
      } catch (error) {
        if ((error as { name?: string }).name !== 'NoSuchHostedZone') throw error;
        const flag = z.kind === 'public' ? '--hosted-zone-id' : '--private-hosted-zone-id';
        sink({ section: 'zones', id: 'zone-exists', status: 'fail', resource: z.id, message: `the ${z.kind} zone does not exist: nothing can be published in it`, fix: `run \`ec2ip deploy ${flag} Z…\` with an existing zone` });
        return;
      }
      const name = (out.HostedZone?.Name ?? '').replace(/\.$/, '').toLowerCase();
      const isPrivate = out.HostedZone?.Config?.PrivateZone === true;
      const right = isPrivate === (z.kind === 'private');
      sink({
        section: 'zones',
        id: 'zone-exists',
        status: right ? 'ok' : 'fail',
        resource: z.id,
        message: right ? `${name}: ${z.kind} zone` : `${name} is a ${isPrivate ? 'private' : 'public'} zone, configured as the ${z.kind} one`,
        ...(right ? {} : { fix: `run \`ec2ip deploy ${isPrivate ? '--private-hosted-zone-id' : '--hosted-zone-id'} ${z.id}\` (and give the other zone with the other flag)` }),
      });
      if (z.kind !== 'public' || !right) return;
      await delegation(name, z.id, (out.DelegationSet?.NameServers ?? []).map(canonical), servers, sink);
      await probe(sink, { section: 'zones', id: 'negative-ttl', resource: z.id, action: 'route53:ListResourceRecordSets' }, () => negativeTtl(route53, z.id, name, config, sink));
    });
  }
}

function canonical(name: string): string {
  return name.replace(/\.$/, '').toLowerCase();
}

async function delegation(zone: string, id: string, own: string[], servers: string[] | undefined, sink: Sink): Promise<void> {
  const resolver = new Resolver({ timeout: 3000, tries: 2 });
  if (servers) resolver.setServers(servers);
  let found: string[];
  try {
    found = (await resolver.resolveNs(zone)).map(canonical);
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    if (code === 'ENOTFOUND' || code === 'ENODATA') {
      sink({
        section: 'zones',
        id: 'delegation',
        status: 'fail',
        resource: id,
        message: `${zone} is not delegated in public DNS (${code}): every record is right and nothing resolves`,
        fix: `at your domain's registrar (or the parent zone), set the name servers of ${zone} to ${own.join(', ')}`,
      });
    } else {
      sink({ section: 'zones', id: 'delegation', status: 'warn', resource: id, message: `not checked: the DNS query for ${zone} NS failed (${code || String(error)})`, fix: 'check the network, or pass --dns-server IP' });
    }
    return;
  }
  const matches = found.length > 0 && found.every((ns) => own.includes(ns));
  sink({
    section: 'zones',
    id: 'delegation',
    status: matches ? 'ok' : 'fail',
    resource: id,
    message: matches
      ? `${zone} is delegated to this zone's name servers`
      : `public DNS delegates ${zone} to ${found.join(', ')}, not to this zone's ${own.join(', ')}: the records ec2ip writes do not resolve`,
    ...(matches ? {} : { fix: `at your domain's registrar (or the parent zone), set the name servers of ${zone} to ${own.join(', ')}` }),
  });
}

async function negativeTtl(route53: Route53Client, id: string, zone: string, config: Config, sink: Sink): Promise<void> {
  const out = await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: id, StartRecordName: `${zone}.`, StartRecordType: 'SOA', MaxItems: 1 }));
  const soa = out.ResourceRecordSets?.find((r) => r.Type === 'SOA' && canonical(r.Name ?? '') === zone);
  const value = soa?.ResourceRecords?.[0]?.Value;
  const fields = value?.trim().split(/\s+/) ?? [];
  const minimum = Number(fields[6]);
  if (!soa || fields.length !== 7 || !Number.isFinite(minimum)) {
    sink({ section: 'zones', id: 'negative-ttl', status: 'warn', resource: id, message: `not checked: no readable SOA record at ${zone} (${value ?? 'none'})` });
    return;
  }
  // RFC 2308: resolvers cache a negative answer for the smaller of the SOA's TTL and its minimum.
  const ttl = Math.min(minimum, soa.TTL ?? minimum);
  if (config.onStop !== 'delete' || ttl <= MAX_NEGATIVE_TTL) {
    sink({ section: 'zones', id: 'negative-ttl', status: 'ok', resource: id, message: `negative TTL ${ttl} s${config.onStop === 'delete' ? '' : ' (names are kept on stop)'}` });
    return;
  }
  const lowered = [...fields.slice(0, 6), String(MAX_NEGATIVE_TTL)].join(' ');
  const batch = { Changes: [{ Action: 'UPSERT', ResourceRecordSet: { Name: `${zone}.`, Type: 'SOA', TTL: soa.TTL ?? 900, ResourceRecords: [{ Value: lowered }] } }] };
  sink({
    section: 'zones',
    id: 'negative-ttl',
    status: 'warn',
    resource: id,
    message: `negative TTL ${ttl} s with ON_STOP=delete: after a stop, resolvers may keep answering "no such name" for ${ttl} s after the instance starts again`,
    fix: `aws route53 change-resource-record-sets --hosted-zone-id ${id} --change-batch '${JSON.stringify(batch)}'`,
  });
}
