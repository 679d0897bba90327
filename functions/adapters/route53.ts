import {
  ChangeResourceRecordSetsCommand,
  GetHostedZoneCommand,
  ListResourceRecordSetsCommand,
  type ListResourceRecordSetsCommandOutput,
  type ResourceRecordSet,
  type Route53Client,
  type RRType,
} from '@aws-sdk/client-route-53';
import { ownershipFqdn, recordFqdn } from '../core/names.js';
import type { ChangeGroup } from '../core/plan.js';
import type { RecordSet } from '../core/types.js';

/** Route 53's page size for ListResourceRecordSets. */
const PAGE = 300;
/** Route 53's limits on one change batch: ResourceRecord elements and characters of values. */
export const BATCH_LIMITS = { records: 1000, characters: 32000 };

/** A page position in a zone listing. */
export interface Cursor {
  name: string;
  type?: string;
  identifier?: string;
}

/** Records of a zone read so far; `next` is set while the listing is not complete. */
export interface Listing {
  records: RecordSet[];
  next?: Cursor;
}

/** The zone's name, lower case without the trailing dot. */
export async function zoneName(route53: Route53Client, zoneId: string): Promise<string> {
  const out = await route53.send(new GetHostedZoneCommand({ Id: zoneId }));
  return normaliseName(out.HostedZone?.Name ?? '').replace(/\.$/, '');
}

/** Reads `maxPages` pages of a zone from `from` (the apex when absent). */
export async function listRecords(route53: Route53Client, zoneId: string, from?: Cursor, maxPages = Number.POSITIVE_INFINITY): Promise<Listing> {
  const records: RecordSet[] = [];
  let cursor = from;
  for (let page = 0; page < maxPages; page++) {
    const out: ListResourceRecordSetsCommandOutput = await route53.send(
      new ListResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        MaxItems: PAGE,
        ...(cursor ? { StartRecordName: cursor.name, StartRecordType: cursor.type as RRType | undefined, StartRecordIdentifier: cursor.identifier } : {}),
      }),
    );
    records.push(...(out.ResourceRecordSets ?? []).map(toRecordSet));
    if (!out.IsTruncated || !out.NextRecordName) return { records };
    cursor = { name: out.NextRecordName, ...(out.NextRecordType ? { type: out.NextRecordType } : {}), ...(out.NextRecordIdentifier ? { identifier: out.NextRecordIdentifier } : {}) };
  }
  return cursor ? { records, next: cursor } : { records };
}

/**
 * The records at a few names and at their ownership names, two small reads per name in
 * parallel: cheaper than listing a large zone when an event concerns one or two names.
 */
export async function readNames(route53: Route53Client, zoneId: string, zone: string, names: readonly string[]): Promise<RecordSet[]> {
  const reads = names.flatMap((name) => [recordFqdn(name, zone), ownershipFqdn(name, zone)]);
  const pages = await Promise.all(
    reads.map(async (fqdn) => {
      const out = await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, StartRecordName: fqdn, MaxItems: 10 }));
      return (out.ResourceRecordSets ?? []).map(toRecordSet).filter((r) => r.name === fqdn);
    }),
  );
  return pages.flat();
}

function toRecordSet(r: ResourceRecordSet): RecordSet {
  const set: RecordSet = { name: normaliseName(r.Name ?? ''), type: r.Type ?? '', values: (r.ResourceRecords ?? []).map((v) => v.Value ?? '') };
  if (r.TTL !== undefined) set.ttl = r.TTL;
  if (r.AliasTarget) set.alias = true;
  return set;
}

/** Route 53 returns names with octal escapes for special characters; ec2ip compares lower case. */
function normaliseName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower : `${lower}.`;
}

/** Packs change groups into batches under Route 53's limits; a group is never split. */
export function toBatches(groups: readonly ChangeGroup[], limits = BATCH_LIMITS): ChangeGroup[][] {
  const batches: ChangeGroup[][] = [];
  let current: ChangeGroup[] = [];
  let records = 0;
  let characters = 0;
  for (const group of groups) {
    const r = group.changes.reduce((n, c) => n + c.record.values.length, 0);
    const ch = group.changes.reduce((n, c) => n + c.record.values.reduce((m, v) => m + v.length, 0), 0);
    if (current.length > 0 && (records + r > limits.records || characters + ch > limits.characters)) {
      batches.push(current);
      current = [];
      records = 0;
      characters = 0;
    }
    current.push(group);
    records += r;
    characters += ch;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** What happened to each group of a zone's plan. */
export interface ApplyOutcome {
  applied: ChangeGroup[];
  /** Rejected because a change no longer matched the zone: re-plan from fresh state. */
  stale: ChangeGroup[];
  /** Route 53's reason for the last rejection, for the log. */
  rejection?: string;
  /** Not applied for another reason (throttling, 5xx, timeout after retries): retry later. */
  failed: { group: ChangeGroup; error: unknown }[];
}

/**
 * Applies a zone's change groups, one ChangeResourceRecordSets per batch, batches in
 * sequence (Route 53 answers PriorRequestNotComplete to parallel changes to one zone).
 */
export async function applyGroups(route53: Route53Client, zoneId: string, groups: readonly ChangeGroup[]): Promise<ApplyOutcome> {
  const outcome: ApplyOutcome = { applied: [], stale: [], failed: [] };
  for (const batch of toBatches(groups)) {
    try {
      await route53.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: zoneId,
          ChangeBatch: {
            Comment: 'ec2ip',
            Changes: batch.flatMap((g) =>
              g.changes.map((c) => ({
                Action: c.action,
                ResourceRecordSet: { Name: c.record.name, Type: c.record.type as RRType, TTL: c.record.ttl, ResourceRecords: c.record.values.map((Value) => ({ Value })) },
              })),
            ),
          },
        }),
      );
      outcome.applied.push(...batch);
    } catch (error) {
      if (isRejectedBatch(error)) {
        outcome.stale.push(...batch);
        outcome.rejection = (error as Error).message;
      }
      else outcome.failed.push(...batch.map((group) => ({ group, error })));
    }
  }
  return outcome;
}

/** A batch Route 53 refused as invalid: a DELETE that no longer matches, a CREATE of an existing record. */
export function isRejectedBatch(error: unknown): boolean {
  const name = (error as { name?: string } | undefined)?.name;
  return name === 'InvalidChangeBatch' || name === 'InvalidInput';
}
