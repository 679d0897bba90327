/**
 * Helpers for integration tests: the real AWS SDK v3 clients pointed at this vitest worker's
 * own moto server, one of those moto-global-setup.ts starts.
 *
 *   describe('sync', () => {
 *     const aws = useMoto();           // env + reset before each test
 *     it('…', async () => { const id = await runInstance({ tags: { 'ec2ip:name': 'web' } }); … });
 *   });
 */
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeEach, inject } from 'vitest';
import {
  CreateTagsCommand,
  DeleteTagsCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeVpcsCommand,
  EC2Client,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
  type Instance,
} from '@aws-sdk/client-ec2';
import {
  ChangeResourceRecordSetsCommand,
  CreateHostedZoneCommand,
  GetHostedZoneCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  type RRType,
} from '@aws-sdk/client-route-53';
import { GetParametersByPathCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';

export const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

export interface MotoClients {
  endpoint: string;
  ec2: EC2Client;
  ssm: SSMClient;
  route53: Route53Client;
}

let clients: MotoClients | undefined;

/**
 * This worker's moto endpoint: the global setup starts one server per vitest worker, and the
 * worker `VITEST_POOL_ID` (1, 2, …) uses the one at that place, so files running at the same
 * time never share one.
 */
export function motoEndpoint(): string {
  const endpoints = inject('motoEndpoints');
  if (!endpoints?.length) {
    throw new Error(
      'motoEndpoints is not provided: run integration tests with `vitest run --project integration` ' +
        '(its globalSetup test/support/moto-global-setup.ts starts moto).',
    );
  }
  const worker = Number(process.env.VITEST_POOL_ID ?? '1');
  const endpoint = endpoints[worker - 1];
  // Sharing another worker's server would let two files reset each other's state.
  if (!endpoint) throw new Error(`VITEST_POOL_ID is ${process.env.VITEST_POOL_ID}, but the global setup started ${endpoints.length} moto server(s), one per worker`);
  return endpoint;
}

/** SDK clients bound to moto (explicit endpoint, region and dummy credentials). */
export function motoClients(): MotoClients {
  if (!clients) {
    const endpoint = motoEndpoint();
    const config = { endpoint, region: REGION, credentials: CREDENTIALS };
    clients = {
      endpoint,
      ec2: new EC2Client(config),
      ssm: new SSMClient(config),
      route53: new Route53Client(config),
    };
  }
  return clients;
}

/** Wipes all moto state. */
export async function resetMoto(): Promise<void> {
  const res = await fetch(`${motoEndpoint()}/moto-api/reset`, { method: 'POST' });
  if (!res.ok) throw new Error(`moto reset failed: HTTP ${res.status} ${await res.text()}`);
}

const MOTO_ENV = ['AWS_ENDPOINT_URL', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION'] as const;

/**
 * Call at the top of a describe (or file). Points the SDK's standard
 * environment at moto (so the product code under test uses it), resets moto
 * before each test, restores the environment after the suite.
 */
export function useMoto(): MotoClients {
  const c = motoClients();
  const saved = Object.fromEntries(MOTO_ENV.map((k) => [k, process.env[k]]));
  setEnv({
    AWS_ENDPOINT_URL: c.endpoint,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: REGION,
  });
  beforeEach(async () => {
    await resetMoto();
  });
  afterAll(() => setEnv(saved));
  return c;
}

function setEnv(env: Record<string, string | undefined>): void {
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
}

// ---------------------------------------------------------------- Route 53

/** Creates a hosted zone; returns its id without the `/hostedzone/` prefix. */
export async function createZone(name: string, { private: isPrivate = false }: { private?: boolean } = {}): Promise<string> {
  const { ec2, route53 } = motoClients();
  let vpc: { VPCRegion: 'us-east-1'; VPCId: string } | undefined;
  if (isPrivate) {
    const { Vpcs = [] } = await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }));
    const vpcId = Vpcs[0]?.VpcId;
    if (!vpcId) throw new Error('moto has no default VPC to attach a private zone to');
    vpc = { VPCRegion: REGION, VPCId: vpcId };
  }
  const out = await route53.send(
    new CreateHostedZoneCommand({
      Name: name,
      CallerReference: randomUUID(),
      ...(vpc ? { VPC: vpc } : {}),
      HostedZoneConfig: { PrivateZone: isPrivate, Comment: 'ec2ip test' },
    }),
  );
  const id = out.HostedZone?.Id;
  if (!id) throw new Error('CreateHostedZone returned no id');
  return stripZonePrefix(id);
}

function stripZonePrefix(id: string): string {
  return id.replace(/^\/?hostedzone\//, '');
}

export interface RecordSet {
  /** Fully qualified, without the trailing dot, case as Route 53 returns it. */
  name: string;
  type: string;
  ttl: number | undefined;
  /** ResourceRecords values verbatim (TXT values keep their quotes); an alias gives `ALIAS <dns name>`. */
  values: string[];
  setIdentifier?: string;
}

function trimDot(name: string): string {
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

/** Every record set in the zone (all pages), except SOA and NS at the apex. */
export async function listRecords(zoneId: string): Promise<RecordSet[]> {
  const { route53 } = motoClients();
  const id = stripZonePrefix(zoneId);
  const zone = await route53.send(new GetHostedZoneCommand({ Id: id }));
  const apex = trimDot(zone.HostedZone?.Name ?? '').toLowerCase();
  const out: RecordSet[] = [];
  let start: { StartRecordName?: string; StartRecordType?: RRType; StartRecordIdentifier?: string } = {};
  for (let page = 0; page < 1_000; page++) {
    const res = await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: id, ...start }));
    for (const rr of res.ResourceRecordSets ?? []) {
      const name = trimDot(rr.Name ?? '');
      const type = rr.Type ?? '';
      if ((type === 'SOA' || type === 'NS') && name.toLowerCase() === apex) continue;
      const values = rr.AliasTarget
        ? [`ALIAS ${rr.AliasTarget.DNSName ?? ''}`]
        : (rr.ResourceRecords ?? []).map((r) => r.Value ?? '');
      out.push({
        name,
        type,
        ttl: rr.TTL,
        values,
        ...(rr.SetIdentifier !== undefined ? { setIdentifier: rr.SetIdentifier } : {}),
      });
    }
    if (!res.IsTruncated) return out;
    start = {
      ...(res.NextRecordName !== undefined ? { StartRecordName: res.NextRecordName } : {}),
      ...(res.NextRecordType !== undefined ? { StartRecordType: res.NextRecordType } : {}),
      ...(res.NextRecordIdentifier !== undefined ? { StartRecordIdentifier: res.NextRecordIdentifier } : {}),
    };
  }
  throw new Error('ListResourceRecordSets did not stop paginating');
}

export interface PutRecordInput {
  /** Fully qualified name (a trailing dot is optional). */
  name: string;
  type: string;
  values: string[];
  ttl?: number;
  /** Default UPSERT; CREATE fails if the record set exists (on moto: only with identical values). */
  action?: 'CREATE' | 'UPSERT';
}

/** Writes one record set directly (e.g. to plant a foreign record). */
export async function putRecord(zoneId: string, { name, type, values, ttl = 300, action = 'UPSERT' }: PutRecordInput): Promise<void> {
  const { route53 } = motoClients();
  await route53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: stripZonePrefix(zoneId),
      ChangeBatch: {
        Changes: [
          {
            Action: action,
            ResourceRecordSet: {
              Name: name,
              Type: type as RRType,
              TTL: ttl,
              ResourceRecords: values.map((Value) => ({ Value })),
            },
          },
        ],
      },
    }),
  );
}

// ---------------------------------------------------------------- EC2

const images = new Map<string, string>();

/**
 * An x86_64 AMI of moto's built-in set in the client's region: the same after every reset, so
 * looked up once per emulator and region (an unfiltered DescribeImages is moto's dearest read).
 */
export async function builtInImageId(ec2: EC2Client, endpoint: string): Promise<string> {
  const key = `${endpoint} ${await ec2.config.region()}`;
  const cached = images.get(key);
  if (cached) return cached;
  const { Images = [] } = await ec2.send(new DescribeImagesCommand({}));
  const image = Images.find((i) => i.ImageId && i.State !== 'deregistered' && (i.Architecture ?? 'x86_64') === 'x86_64') ?? Images[0];
  if (!image?.ImageId) throw new Error(`moto DescribeImages returned no AMI in ${key}`);
  images.set(key, image.ImageId);
  return image.ImageId;
}

async function imageId(): Promise<string> {
  const { ec2, endpoint } = motoClients();
  return builtInImageId(ec2, endpoint);
}

function toTags(tags: Record<string, string>): { Key: string; Value: string }[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

/** Runs one t3.micro instance in the default VPC; returns its id. */
export async function runInstance({ tags, instanceType = 't3.micro' }: { tags?: Record<string, string>; instanceType?: string } = {}): Promise<string> {
  const { ec2 } = motoClients();
  const out = await ec2.send(
    new RunInstancesCommand({
      ImageId: await imageId(),
      InstanceType: instanceType as never,
      MinCount: 1,
      MaxCount: 1,
      ...(tags && Object.keys(tags).length > 0
        ? { TagSpecifications: [{ ResourceType: 'instance', Tags: toTags(tags) }] }
        : {}),
    }),
  );
  const id = out.Instances?.[0]?.InstanceId;
  if (!id) throw new Error('RunInstances returned no instance');
  return id;
}

export async function stopInstances(ids: string[]): Promise<void> {
  await motoClients().ec2.send(new StopInstancesCommand({ InstanceIds: ids }));
}

export async function startInstances(ids: string[]): Promise<void> {
  await motoClients().ec2.send(new StartInstancesCommand({ InstanceIds: ids }));
}

export async function terminateInstances(ids: string[]): Promise<void> {
  await motoClients().ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }));
}

/** The instance as DescribeInstances returns it; throws if it does not exist. */
export async function describe(id: string): Promise<Instance> {
  const { Reservations = [] } = await motoClients().ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
  const instance = Reservations.flatMap((r) => r.Instances ?? []).find((i) => i.InstanceId === id);
  if (!instance) throw new Error(`DescribeInstances did not return ${id}`);
  return instance;
}

export async function tagInstance(id: string, tags: Record<string, string>): Promise<void> {
  await motoClients().ec2.send(new CreateTagsCommand({ Resources: [id], Tags: toTags(tags) }));
}

export async function untagInstance(id: string, keys: string[]): Promise<void> {
  await motoClients().ec2.send(new DeleteTagsCommand({ Resources: [id], Tags: keys.map((Key) => ({ Key })) }));
}

// ---------------------------------------------------------------- SSM

/** Every parameter under `prefix` (recursive, all pages) as name → value. */
export async function getParameters(prefix: string): Promise<Record<string, string>> {
  const { ssm } = motoClients();
  const out: Record<string, string> = {};
  let NextToken: string | undefined;
  do {
    const res = await ssm.send(
      new GetParametersByPathCommand({ Path: prefix, Recursive: true, WithDecryption: true, ...(NextToken ? { NextToken } : {}) }),
    );
    for (const p of res.Parameters ?? []) if (p.Name !== undefined) out[p.Name] = p.Value ?? '';
    NextToken = res.NextToken;
  } while (NextToken);
  return out;
}

/** Writes (overwrites) one String parameter. */
export async function putParameter(name: string, value: string): Promise<void> {
  await motoClients().ssm.send(new PutParameterCommand({ Name: name, Value: value, Type: 'String', Overwrite: true }));
}

// ---------------------------------------------------------------- the Lambda bundle

let handlerCase = 0;

export type Handler = (event: unknown, context?: unknown) => Promise<unknown>;

/** Path of the built Lambda bundle (`npm run build` writes it). */
export const BUNDLE = new URL('../../dist/sync/index.mjs', import.meta.url);

/**
 * Sets `env` on process.env (undefined deletes) and imports a fresh copy of the
 * built bundle (it reads its configuration at load time); returns `handler`.
 */
export async function loadHandler(
  env: Record<string, string | undefined> = {},
  { bundle = BUNDLE }: { bundle?: URL | string } = {},
): Promise<Handler> {
  setEnv(env);
  const url = new URL(typeof bundle === 'string' ? pathToFileURL(bundle).href : bundle.href);
  url.searchParams.set('case', String(++handlerCase));
  let mod: { handler?: unknown };
  try {
    mod = (await import(/* @vite-ignore */ url.href)) as { handler?: unknown };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_MODULE_NOT_FOUND' || /Cannot find module|Failed to load url|does not exist/i.test(String(e.message))) {
      throw new Error(`the Lambda bundle ${url.pathname} is missing: run \`npm run build\` first (${e.message})`);
    }
    throw err;
  }
  if (typeof mod.handler !== 'function') throw new Error(`${url.pathname} does not export a handler function`);
  return mod.handler as Handler;
}

/** The usual world of the sync tests: both zones, and the built handler configured for them. */
export interface TwoZones {
  publicZone: string;
  privateZone: string;
  handler: Handler;
}

/**
 * Before each test: creates `example.com` (public) and `internal.example` (private) and loads
 * the handler with SPEC's defaults for everything else, plus `env`. Call inside a describe,
 * after `useMoto()`.
 */
export function useTwoZones(env: Record<string, string | undefined> = {}): TwoZones {
  const world = {} as TwoZones;
  beforeEach(async () => {
    world.publicZone = await createZone('example.com');
    world.privateZone = await createZone('internal.example', { private: true });
    world.handler = await loadHandler({
      PARAMETER_PREFIX: undefined,
      OWNER_ID: undefined,
      ON_STOP: undefined,
      RECORD_TTL: undefined,
      LOG_LEVEL: undefined,
      ENABLE_ELASTIC_IP: undefined,
      HOSTED_ZONE_ID: world.publicZone,
      PRIVATE_HOSTED_ZONE_ID: world.privateZone,
      ...env,
    });
  });
  return world;
}
