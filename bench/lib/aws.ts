/** Seeding helpers for the bench: the real SDK clients pointed straight at moto (not through the proxy). */
import { randomUUID } from 'node:crypto';
import { CreateTagsCommand, DescribeImagesCommand, DescribeVpcsCommand, EC2Client, RunInstancesCommand, StartInstancesCommand, StopInstancesCommand } from '@aws-sdk/client-ec2';
import { ChangeResourceRecordSetsCommand, CreateHostedZoneCommand, ListResourceRecordSetsCommand, Route53Client, type Change } from '@aws-sdk/client-route-53';
import { GetParametersByPathCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';

export const REGION = 'us-east-1';

export interface Seeder {
  ec2: EC2Client;
  route53: Route53Client;
  ssm: SSMClient;
}

export function seeder(endpoint: string): Seeder {
  const config = { endpoint, region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 };
  return { ec2: new EC2Client(config), route53: new Route53Client(config), ssm: new SSMClient(config) };
}

/** A seeder acting in a member account and region, through an AssumeRole into it (moto gives the credentials that account). */
export async function spokeSeeder(endpoint: string, account: string, region: string): Promise<Seeder> {
  const sts = new STSClient({ endpoint, region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const c = (await sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${account}:role/bench-admin`, RoleSessionName: 'bench' }))).Credentials;
  const config = { endpoint, region, credentials: { accessKeyId: c?.AccessKeyId ?? '', secretAccessKey: c?.SecretAccessKey ?? '', sessionToken: c?.SessionToken ?? '' }, maxAttempts: 1 };
  return { ec2: new EC2Client(config), route53: new Route53Client(config), ssm: new SSMClient(config) };
}

export async function createZone(s: Seeder, name: string, isPrivate = false): Promise<string> {
  let vpc: { VPCRegion: 'us-east-1'; VPCId: string } | undefined;
  if (isPrivate) {
    const { Vpcs = [] } = await s.ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }));
    vpc = { VPCRegion: REGION, VPCId: Vpcs[0]?.VpcId ?? '' };
  }
  const out = await s.route53.send(
    new CreateHostedZoneCommand({ Name: name, CallerReference: randomUUID(), ...(vpc ? { VPC: vpc } : {}), HostedZoneConfig: { PrivateZone: isPrivate } }),
  );
  return (out.HostedZone?.Id ?? '').replace(/^\/?hostedzone\//, '');
}

/** Runs `count` instances (one RunInstances call) and tags each `ec2ip:name` = `${prefix}${i}`; returns their ids in order. */
export async function runInstances(s: Seeder, count: number, prefix: string): Promise<string[]> {
  const { Images = [] } = await s.ec2.send(new DescribeImagesCommand({}));
  const image = Images.find((i) => (i.Architecture ?? 'x86_64') === 'x86_64')?.ImageId ?? Images[0]?.ImageId;
  const ids: string[] = [];
  for (let left = count; left > 0; left -= 100) {
    const n = Math.min(100, left);
    const out = await s.ec2.send(new RunInstancesCommand({ ImageId: image, InstanceType: 't3.micro', MinCount: n, MaxCount: n }));
    ids.push(...(out.Instances ?? []).map((i) => i.InstanceId ?? ''));
  }
  await inParallel(ids, 8, (id, i) => s.ec2.send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: 'ec2ip:name', Value: `${prefix}${i}` }] })));
  return ids;
}

export async function stopAndStart(s: Seeder, ids: string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 100) await s.ec2.send(new StopInstancesCommand({ InstanceIds: ids.slice(i, i + 100) }));
  for (let i = 0; i < ids.length; i += 100) await s.ec2.send(new StartInstancesCommand({ InstanceIds: ids.slice(i, i + 100) }));
}

/** Plants `count` foreign A records `filler-<i>.<zone>` (one batch per 500) so the zone's listing takes several pages. */
export async function fillZone(s: Seeder, zoneId: string, zone: string, count: number): Promise<void> {
  for (let start = 0; start < count; start += 500) {
    const changes: Change[] = [];
    for (let i = start; i < Math.min(count, start + 500); i++) {
      changes.push({ Action: 'UPSERT', ResourceRecordSet: { Name: `filler-${i}.${zone}`, Type: 'A', TTL: 300, ResourceRecords: [{ Value: `10.9.${i >> 8}.${i & 255}` }] } });
    }
    await s.route53.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: zoneId, ChangeBatch: { Changes: changes } }));
  }
}

/** Writes `count` instances' worth of parameters (3 leaves each) under `prefix`, as ec2ip would have. */
export async function fillParameters(s: Seeder, prefix: string, count: number): Promise<void> {
  const items = Array.from({ length: count }, (_, i) => i);
  await inParallel(items, 8, async (i) => {
    const folder = `${prefix}/other-${i}`;
    await s.ssm.send(new PutParameterCommand({ Name: `${folder}/instance-id`, Value: `i-0000000000${String(i).padStart(7, '0')}`, Type: 'String', Overwrite: true }));
    await s.ssm.send(new PutParameterCommand({ Name: `${folder}/private-ip`, Value: `10.8.${i >> 8}.${i & 255}`, Type: 'String', Overwrite: true }));
    await s.ssm.send(new PutParameterCommand({ Name: `${folder}/public-ip`, Value: `198.51.${i >> 8}.${i & 255}`, Type: 'String', Overwrite: true }));
  });
}

export async function countRecords(s: Seeder, zoneId: string): Promise<number> {
  let n = 0;
  let start: { StartRecordName?: string; StartRecordType?: never } = {};
  for (;;) {
    const out = await s.route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, ...start }));
    n += out.ResourceRecordSets?.length ?? 0;
    if (!out.IsTruncated) return n;
    start = { StartRecordName: out.NextRecordName, StartRecordType: out.NextRecordType as never };
  }
}

export async function countParameters(s: Seeder, prefix: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let NextToken: string | undefined;
  do {
    const page = await s.ssm.send(new GetParametersByPathCommand({ Path: prefix, Recursive: true, NextToken }));
    for (const p of page.Parameters ?? []) out.set(p.Name ?? '', p.Value ?? '');
    NextToken = page.NextToken;
  } while (NextToken);
  return out;
}

export async function inParallel<T>(items: readonly T[], width: number, work: (item: T, index: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await work(items[i] as T, i);
      }
    }),
  );
}
