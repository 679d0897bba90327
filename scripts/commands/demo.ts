/**
 * `ec2ip demo` (`npm start`): the whole flow on this machine. Starts moto, builds two zones
 * and a few instances, then stops and starts them and hands each step's EventBridge events
 * to the real built Lambda, showing that hostnames and parameters follow the changing IPs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeVpcsCommand,
  EC2Client,
  RunInstancesCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  type Instance as Ec2Instance,
} from '@aws-sdk/client-ec2';
import { ChangeResourceRecordSetsCommand, CreateHostedZoneCommand, ListResourceRecordSetsCommand, Route53Client, type ResourceRecordSet } from '@aws-sdk/client-route-53';
import { GetParametersByPathCommand, SSMClient } from '@aws-sdk/client-ssm';
import { sqsBatch, scheduledEvent, stateChangeEvent } from '../cli/demo-events.js';
import { defaultLauncher, startEmulator, type Emulator } from '../cli/emulator.js';
import { CliError, EXIT, UsageError } from '../cli/errors.js';
import { onNpmGone } from '../cli/npm-watch.js';
import type { Io } from '../cli/io.js';
import { parse } from '../cli/options.js';
import { formatTable } from '../cli/table.js';
import { get } from './get.js';
import { list } from './list.js';

export const HELP = `Usage: ec2ip demo

Runs the whole flow against a local AWS emulator; nothing leaves this machine and
no AWS account is needed. It starts moto_server on a free 127.0.0.1 port (install
it with: pip install "moto[server]"), creates a public and a private hosted zone
and three tagged instances plus an untagged one, then stops and starts them. For
each step it builds the EventBridge state-change events and runs the real built
Lambda (dist/sync/index.mjs, so run \`npm run build\` first; \`npm start\` does both)
and prints a table showing the hostnames and parameters following the new IPs.
It also shows a name refused because someone else owns the record, and the
scheduled reconcile repairing what missed events left stale.
It takes about 10-20 seconds and stops moto when it ends, also on Ctrl-C.

Options:
  -h, --help   this help
`;

const REGION = 'us-east-1';
const PUBLIC_ZONE = 'example.com';
const PRIVATE_ZONE = 'internal.example';
const PREFIX = '/ec2ip';
const FOREIGN_IP = '203.0.113.25';
const TAGGED = ['web', 'api', 'mail'] as const;

type Handler = (event: unknown) => Promise<unknown>;

interface DemoAws {
  ec2: EC2Client;
  route53: Route53Client;
  ssm: SSMClient;
  publicZone: string;
  privateZone: string;
  /** name → instance id; the untagged one is `scratch`. */
  ids: Map<string, string>;
}

export async function demo(args: string[], io: Io): Promise<number> {
  const { values } = parse(args, {});
  if (values.help) {
    io.stdout(HELP);
    return EXIT.ok;
  }
  const given = Object.entries(values).filter(([, v]) => v !== undefined).map(([k]) => `--${k}`);
  if (given.length > 0) throw new UsageError(`the demo runs against its own emulator and takes no options (got ${given.join(' ')})`);

  const started = Date.now();
  const bundle = findBundle();
  io.stdout('ec2ip demo: the EC2 -> EventBridge -> Lambda -> Route 53 + SSM flow on a local AWS emulator (moto)\n\n');
  const savedEnv = { ...process.env };
  // The SDK's notice about future Node versions would interleave with the demo's tables.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  let emulator: Emulator | undefined;
  const onExit = () => emulator?.killNow();
  const onSignal = (signal: NodeJS.Signals) => {
    // Waiting for the exit reaps moto, so no zombie is left for an init that does not reap.
    void (emulator?.stop(true) ?? Promise.resolve()).finally(() => {
      restoreEnv(savedEnv);
      // The listener is gone (`once`): the signal now ends the process as it would have.
      process.kill(process.pid, signal);
    });
  };
  process.once('exit', onExit);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // Under `npm start` a SIGKILLed npm leaves the demo's shell running: end as if signalled.
  const npmWatch = onNpmGone(() => process.kill(process.pid, 'SIGTERM'), io.env);
  try {
    emulator = await startEmulator({ launcher: defaultLauncher(io.env), onSpawn: (spawned) => (emulator = spawned) });
    io.stderr(`moto_server pid ${emulator.pid} listening on ${emulator.endpoint}\n`);
    await run(io, emulator, bundle);
  } finally {
    clearInterval(npmWatch);
    process.removeListener('exit', onExit);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await emulator?.stop();
    restoreEnv(savedEnv);
  }
  io.stdout(`\nDone in ${((Date.now() - started) / 1000).toFixed(1)} s; the emulator is stopped. Deploy for real with \`ec2ip deploy\`.\n`);
  return EXIT.ok;
}

async function run(io: Io, emulator: Emulator, bundle: string): Promise<void> {
  const aws = await setUp(io, emulator.endpoint);

  // The bundle reads its configuration and creates its clients when it is loaded.
  setEnv({
    AWS_ENDPOINT_URL: emulator.endpoint,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_SESSION_TOKEN: undefined,
    AWS_PROFILE: undefined,
    AWS_REGION: REGION,
    AWS_DEFAULT_REGION: undefined,
    AWS_EC2_METADATA_DISABLED: 'true',
    HOSTED_ZONE_ID: aws.publicZone,
    PRIVATE_HOSTED_ZONE_ID: aws.privateZone,
    PARAMETER_PREFIX: PREFIX,
    OWNER_ID: 'ec2ip',
    RECORD_TTL: '60',
    ON_STOP: 'delete',
    // Warnings are caught (not printed) to show the refusal; EMF lines are dropped.
    LOG_LEVEL: 'WARN',
  });
  for (const key of Object.keys(process.env)) if (key.startsWith('AWS_ENDPOINT_URL_')) delete process.env[key];
  const handler = await loadHandler(bundle);
  const id = (name: string) => aws.ids.get(name) ?? '';

  step(io, 1, 'The instances are running. EventBridge sends a "running" event for each, via SQS, to the Lambda.');
  const launch = await invoke(handler, [...aws.ids.values()].map((i) => stateChangeEvent(i, 'running', REGION)));
  io.stdout(`Lambda answered: ${launch.answer}\n`);
  const first = await show(io, aws);

  step(io, 2, 'Stop web and api. With ON_STOP=delete the public A record and public-ip go; the private name stays.');
  await aws.ec2.send(new StopInstancesCommand({ InstanceIds: [id('web'), id('api')] }));
  io.stdout(`Lambda answered: ${(await invoke(handler, [id('web'), id('api')].map((i) => stateChangeEvent(i, 'stopped', REGION)))).answer}\n`);
  await show(io, aws);

  step(io, 3, 'Start them again. EC2 hands out new public IPs; the events bring DNS and SSM along.');
  await aws.ec2.send(new StartInstancesCommand({ InstanceIds: [id('web'), id('api')] }));
  io.stdout(`Lambda answered: ${(await invoke(handler, [id('web'), id('api')].map((i) => stateChangeEvent(i, 'running', REGION)))).answer}\n`);
  const third = await show(io, aws);
  for (const name of ['web', 'api']) {
    io.stdout(`  ${name}: public IP ${first.get(name)?.ec2Public ?? '-'} -> ${third.get(name)?.ec2Public ?? '-'}; ${name}.${PUBLIC_ZONE} and ${PREFIX}/${name}/public-ip followed\n`);
  }

  step(io, 4, `Ownership. ${'mail'}.${PUBLIC_ZONE} already had an A record (${FOREIGN_IP}) that ec2ip did not write.`);
  const refusals = launch.lines.filter((l) => l.message === 'name owned by someone else');
  for (const r of refusals) io.stdout(`  the Lambda refused ${String(r.name)} in ${String(r.zone)}: ${String(r.reason)}\n`);
  if (refusals.length === 0) io.stdout('  (the Lambda logged no refusal: unexpected)\n');
  const mail = third.get('mail');
  io.stdout(`  ${'mail'}.${PUBLIC_ZONE} still answers ${mail?.publicDns ?? '-'} (untouched); ${'mail'}.${PRIVATE_ZONE} -> ${mail?.privateDns ?? '-'} (the private zone is not blocked)\n`);
  io.stdout(`  scratch (untagged) has no records and no parameters: ec2ip never touches it\n`);

  step(io, 5, 'Missed events. web is stopped and started, but the events are lost (EventBridge delivers best effort).');
  await aws.ec2.send(new StopInstancesCommand({ InstanceIds: [id('web')] }));
  await aws.ec2.send(new StartInstancesCommand({ InstanceIds: [id('web')] }));
  const missed = await show(io, aws);
  io.stdout(`  web.${PUBLIC_ZONE} still says ${missed.get('web')?.publicDns ?? '-'}; EC2 says ${missed.get('web')?.ec2Public ?? '-'}. The scheduled reconcile repairs it:\n`);
  io.stdout(`Lambda answered the Scheduled Event: ${(await invoke(handler, [scheduledEvent(REGION)])).answer}\n`);
  await show(io, aws);

  step(io, 6, 'What scripts and people see: the ec2ip CLI against the same emulator.');
  const cliIo = captureIo(io, { ...process.env });
  io.stdout('$ ec2ip get web\n');
  await get(['web'], cliIo);
  io.stdout('$ ec2ip list\n');
  await list([], cliIo);
  io.stdout(`Tools without ec2ip read the same parameter: aws ssm get-parameter --name ${PREFIX}/web/public-ip --query Parameter.Value --output text\n`);
}

/** Zones, a foreign record, and four instances (three tagged). */
async function setUp(io: Io, endpoint: string): Promise<DemoAws> {
  const config = { endpoint, region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  const ec2 = new EC2Client(config);
  const route53 = new Route53Client(config);
  const ssm = new SSMClient(config);
  const [vpcs, images] = await Promise.all([
    ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] })),
    ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] })),
  ]);
  const vpcId = vpcs.Vpcs?.[0]?.VpcId;
  const imageId = images.Images?.find((i) => i.ImageId && (i.Architecture ?? 'x86_64') === 'x86_64')?.ImageId ?? images.Images?.[0]?.ImageId;
  if (!vpcId || !imageId) throw new CliError('the emulator has no default VPC or no AMI; is moto_server current? (pip install -U "moto[server]")', EXIT.failed);

  const zone = async (name: string, isPrivate: boolean) => {
    const out = await route53.send(
      new CreateHostedZoneCommand({
        Name: name,
        CallerReference: `ec2ip-demo-${name}-${Date.now()}`,
        HostedZoneConfig: { PrivateZone: isPrivate, Comment: 'ec2ip demo' },
        ...(isPrivate ? { VPC: { VPCRegion: REGION, VPCId: vpcId } } : {}),
      }),
    );
    return (out.HostedZone?.Id ?? '').replace(/^\/?hostedzone\//, '');
  };
  const [publicZone, privateZone] = await Promise.all([zone(PUBLIC_ZONE, false), zone(PRIVATE_ZONE, true)]);
  await route53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: publicZone,
      ChangeBatch: { Changes: [{ Action: 'CREATE', ResourceRecordSet: { Name: `mail.${PUBLIC_ZONE}`, Type: 'A', TTL: 300, ResourceRecords: [{ Value: FOREIGN_IP }] } }] },
    }),
  );

  const launch = async (name: string, tagged: boolean) => {
    const out = await ec2.send(
      new RunInstancesCommand({
        ImageId: imageId,
        InstanceType: 't3.micro',
        MinCount: 1,
        MaxCount: 1,
        TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: name }, ...(tagged ? [{ Key: 'ec2ip:name', Value: name }] : [])] }],
      }),
    );
    return [name, out.Instances?.[0]?.InstanceId ?? ''] as const;
  };
  const ids = new Map(await Promise.all([...TAGGED.map((n) => launch(n, true)), launch('scratch', false)]));

  io.stdout(`Set up on the emulator:\n`);
  io.stdout(`  hosted zones   ${PUBLIC_ZONE} (public, ${publicZone}), ${PRIVATE_ZONE} (private, ${privateZone})\n`);
  io.stdout(`  foreign record mail.${PUBLIC_ZONE} A ${FOREIGN_IP} (someone else's: no ec2ip ownership record)\n`);
  for (const [name, id] of ids) io.stdout(`  instance       ${id}  ${name === 'scratch' ? 'untagged' : `ec2ip:name=${name}`}\n`);
  return { ec2, route53, ssm, publicZone, privateZone, ids };
}

function findBundle(): string {
  // From dist/cli.mjs or scripts/commands/demo.ts alike: up to the package, then dist/.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'ec2ip') {
      const bundle = join(dir, 'dist', 'sync', 'index.mjs');
      if (!existsSync(bundle)) throw new CliError(`the Lambda bundle ${bundle} is missing: run \`npm run build\` (\`npm start\` builds, then runs the demo)`, EXIT.failed);
      return bundle;
    }
    dir = dirname(dir);
  }
  throw new CliError('cannot find the ec2ip package (and its dist/sync/index.mjs) above this script: run the demo from the ec2ip checkout with `npm start`', EXIT.failed);
}

async function loadHandler(bundle: string): Promise<Handler> {
  const mod = (await import(/* @vite-ignore */ `${pathToFileURL(bundle).href}?demo=${Date.now()}`)) as { handler?: unknown };
  if (typeof mod.handler !== 'function') throw new CliError(`${bundle} exports no handler`, EXIT.failed);
  return mod.handler as Handler;
}

/**
 * Runs the handler on an SQS batch of `events` (or a direct event for the schedule) while
 * keeping its JSON lines (logs, metrics) off the terminal; returns them and a short answer.
 */
async function invoke(handler: Handler, events: readonly unknown[]): Promise<{ answer: string; lines: Record<string, unknown>[] }> {
  const lines: Record<string, unknown>[] = [];
  const original = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    try {
      for (const line of text.split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      return true;
    } catch {
      return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
    }
  }) as typeof process.stdout.write;
  try {
    const scheduled = events.length === 1 && (events[0] as { source?: string }).source === 'aws.events';
    const result = (await handler(scheduled ? events[0] : sqsBatch(events, REGION))) as { batchItemFailures?: unknown[]; status?: string };
    const answer = result.batchItemFailures
      ? `${events.length} messages, ${result.batchItemFailures.length} item failures`
      : `${result.status ?? JSON.stringify(result)}`;
    return { answer, lines };
  } finally {
    process.stdout.write = original;
  }
}

interface Row {
  state: string;
  ec2Public?: string;
  ec2Private?: string;
  publicDns?: string;
  publicForeign: boolean;
  privateDns?: string;
  ssmPublic?: string;
  hasParameters: boolean;
}

/** Reads EC2, both zones and SSM and prints one row per instance; returns the rows by name. */
async function show(io: Io, aws: DemoAws): Promise<Map<string, Row>> {
  const [reservations, publicRecords, privateRecords, parameters] = await Promise.all([
    aws.ec2.send(new DescribeInstancesCommand({ InstanceIds: [...aws.ids.values()] })),
    records(aws.route53, aws.publicZone),
    records(aws.route53, aws.privateZone),
    aws.ssm.send(new GetParametersByPathCommand({ Path: PREFIX, Recursive: true })),
  ]);
  const instances = new Map<string, Ec2Instance>();
  for (const r of reservations.Reservations ?? []) for (const i of r.Instances ?? []) if (i.InstanceId) instances.set(i.InstanceId, i);
  const value = (rs: ResourceRecordSet[], name: string, type = 'A') => rs.find((r) => r.Name === name && r.Type === type)?.ResourceRecords?.[0]?.Value;
  const params = new Map((parameters.Parameters ?? []).map((p) => [p.Name ?? '', p.Value ?? '']));

  const rows = new Map<string, Row>();
  const table: string[][] = [];
  for (const [name, id] of aws.ids) {
    const i = instances.get(id);
    const row: Row = {
      state: i?.State?.Name ?? 'gone',
      ec2Public: i?.PublicIpAddress,
      ec2Private: i?.PrivateIpAddress,
      publicDns: value(publicRecords, `${name}.${PUBLIC_ZONE}.`),
      publicForeign: value(publicRecords, `${name}.${PUBLIC_ZONE}.`) !== undefined && value(publicRecords, `_ec2ip.${name}.${PUBLIC_ZONE}.`, 'TXT') === undefined,
      privateDns: value(privateRecords, `${name}.${PRIVATE_ZONE}.`),
      ssmPublic: params.get(`${PREFIX}/${name}/public-ip`),
      hasParameters: [...params.keys()].some((k) => k.startsWith(`${PREFIX}/${name}/`)),
    };
    rows.set(name, row);
    table.push([
      name === 'scratch' ? 'scratch (untagged)' : name,
      row.state,
      row.ec2Public ?? '-',
      row.publicDns ? `${row.publicDns}${row.publicForeign ? ' (foreign)' : ''}` : '-',
      row.ssmPublic ?? '-',
      row.privateDns ?? '-',
      verdict(name, row),
    ]);
  }
  io.stdout(`\n${formatTable(['NAME', 'STATE', 'EC2 PUBLIC IP', `A <name>.${PUBLIC_ZONE}`, `${PREFIX}/<name>/public-ip`, `A <name>.${PRIVATE_ZONE}`, 'CURRENT'], table)}`);
  return rows;
}

/** Whether DNS and SSM say what EC2 says, in words. */
function verdict(name: string, row: Row): string {
  if (name === 'scratch') return row.publicDns || row.privateDns || row.hasParameters ? 'TOUCHED' : 'untouched';
  const publicOk = row.publicForeign ? true : row.publicDns === row.ec2Public;
  const ok = publicOk && row.ssmPublic === row.ec2Public && row.privateDns === row.ec2Private;
  if (!ok) return 'NO';
  return row.publicForeign ? 'yes (public name refused)' : 'yes';
}

async function records(route53: Route53Client, zoneId: string): Promise<ResourceRecordSet[]> {
  return (await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }))).ResourceRecordSets ?? [];
}

function step(io: Io, n: number, text: string): void {
  io.stdout(`\n[${n}/6] ${text}\n`);
}

/** An Io for running a CLI command inside the demo: its output indented under the demo's. */
function captureIo(io: Io, env: Record<string, string | undefined>): Io {
  const indent = (text: string) => text.replace(/^(?=.)/gm, '  ');
  return { stdout: (t) => io.stdout(indent(t)), stderr: (t) => io.stdout(indent(t)), env, cwd: io.cwd };
}

function setEnv(env: Record<string, string | undefined>): void {
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
}

function restoreEnv(saved: Record<string, string | undefined>): void {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  setEnv(saved);
}
