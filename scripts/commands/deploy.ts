/**
 * `ec2ip deploy`: build → deterministic zip → content-addressed upload → change set →
 * execute with live stack events → outputs. Progress goes to stderr, the result to stdout.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { S3Client } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { explainAwsError } from '../cli/aws-errors.js';
import { EXIT, UsageError } from '../cli/errors.js';
import type { Io } from '../cli/io.js';
import { parse } from '../cli/options.js';
import { bucketState, checkBucketName, codeKey, createBucket, defaultBucketName, objectExists, upload } from '../deploy/bucket.js';
import { ensureBuilt, locate } from '../deploy/build.js';
import {
  describeStack,
  resolveParameters,
  stackResources,
  templateParameters,
  validateTemplate,
  deployStack,
  checkUpdatable,
  type DeployedStack,
} from '../deploy/stack.js';
import { packageBundle } from '../deploy/zip.js';
import { checkHubParameters, HUB_FLAG_OF, HUB_OPTIONS, hubParametersFromFlags, hubWarnings } from '../deploy/hub-parameters.js';
import { deploySpokes, SPOKES_HELP, SPOKES_OPTIONS } from '../deploy/stackset.js';

export const HELP = `Usage: ec2ip deploy [--hosted-zone-id Z…] [options]

Builds the Lambda, zips it deterministically, uploads it to an S3 bucket in the
stack's region (only if that exact zip is not there yet), and creates or updates
the CloudFormation stack (infra/template.yaml) through a change set, printing
the stack events as they happen and the stack's outputs at the end.

An unchanged build with unchanged settings is reported as "no changes" and
changes nothing. On an update, settings you do not pass keep their deployed
values. Progress goes to stderr; the outputs (or --json) go to stdout.

Stack settings (a new stack needs --hosted-zone-id; pass '' for none):
  --hosted-zone-id Z           public zone for A/AAAA records (else HOSTED_ZONE_ID)
  --private-hosted-zone-id Z   private zone for A records (else PRIVATE_HOSTED_ZONE_ID)
  --prefix /P                  SSM parameter prefix (else PARAMETER_PREFIX; default /ec2ip)
  --ttl SECONDS                record TTL (else RECORD_TTL; default 60)
  --on-stop delete|keep        public records of stopped instances (else ON_STOP; default delete)
  --schedule EXPR              reconcile schedule, e.g. 'rate(15 minutes)' (the default)
  --enable-elastic-ip          let ec2ip attach Elastic IPs (tag ec2ip:eip)
  --disable-elastic-ip         stop doing so (the default for a new stack)
  --log-retention-days N       days of function logs (default 30)

A hub (many accounts and regions, one DNS account; see docs/many-accounts.md):
  --hub                        deploy infra/hub.yaml: the zones' only writer, with an
                               event bus for the spokes and a role to assume theirs
  --spoke-external-id ID       the external id the spoke roles demand (or SPOKE_EXTERNAL_ID)
  --spoke-list A:R,…           the spokes, <account>:<region>, comma-separated
  --spoke-stack-set NAME       or: the spokes are this StackSet's stack instances
  --spoke-stack-set-call-as W  SELF (default) or DELEGATED_ADMIN
  --spoke-role-name NAME       the spoke role is NAME-<region> (default ec2ip-spoke)
  --name-template T            record names from {name}, {account}, {account-alias}, {region} (default {name})
  --spoke-names A:P|P,…        the names each account may claim, e.g. 111111111111:*.dev,222222222222:web|api
                               (an account not listed claims none; default: any free name)
  --organization-id o-…        the organization whose accounts may put events on the bus
  --member-accounts A,…        or: the accounts that may
${SPOKES_HELP}
Deployment:
  --stack-name NAME            the stack, also the function's name and record owner (default ec2ip)
  --bucket NAME                bucket for the code, in the stack's region
                               (default ec2ip-artifacts-<account>-<region>, created if missing:
                               public access blocked, SSE-S3, TLS only)
  --dry-run                    show the change set, then delete it: changes nothing
                               (creates no bucket, uploads nothing)
  --skip-build                 deploy the existing dist/ without running the build
  --upload-only                build and upload the zip, print its CodeS3Bucket and
                               CodeS3Key, and stop (stages the code for StackSets)
  --json                       print {"stack","status","changed","outputs"} on stdout
  --region R                   AWS region (else AWS_REGION, the profile's region)
  --profile P                  AWS profile (else AWS_PROFILE)
  -h, --help                   this help

Honours the SDK's environment: AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL (e.g. a
local emulator), AWS_MAX_ATTEMPTS, AWS_RETRY_MODE.
Exit codes: 0 deployed, dry run done or nothing to change; 1 the deploy failed
(the failing resources and reasons are printed); 2 usage or configuration error.
`;

const OPTIONS = {
  ...HUB_OPTIONS,
  ...SPOKES_OPTIONS,
  bucket: { type: 'string' },
  'dry-run': { type: 'boolean' },
  'skip-build': { type: 'boolean' },
  'upload-only': { type: 'boolean' },
  json: { type: 'boolean' },
  'on-stop': { type: 'string' },
  schedule: { type: 'string' },
  'enable-elastic-ip': { type: 'boolean' },
  'disable-elastic-ip': { type: 'boolean' },
  'log-retention-days': { type: 'string' },
} as const;

const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/** Template parameter → the flag that sets it, for messages. */
const FLAG_OF: Record<string, string> = {
  HostedZoneId: "--hosted-zone-id Z… (or --hosted-zone-id '' for no public zone)",
  PrivateHostedZoneId: '--private-hosted-zone-id',
  ParameterPrefix: '--prefix',
  RecordTtl: '--ttl',
  OnStop: '--on-stop',
  ReconcileSchedule: '--schedule',
  EnableElasticIp: '--enable-elastic-ip',
  LogRetentionDays: '--log-retention-days',
};

type Values = ReturnType<typeof parse<typeof OPTIONS>>['values'];

function zoneId(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const id = value.trim().replace(/^\/?hostedzone\//, '');
  if (id !== '' && !/^[A-Z0-9]{1,32}$/.test(id)) throw new UsageError(`${flag} ${value} is not a Route 53 hosted zone id (Z0123456789ABCDEFGHIJ), nor '' for none`);
  return id;
}

/** The template parameters the flags (or the environment) set; undefined = not given. */
export function parametersFromFlags(values: Values, env: Record<string, string | undefined>): Record<string, string | undefined> {
  const pick = (flag: string | undefined, envName?: string) => flag ?? (envName ? env[envName] : undefined);
  const prefix = pick(values.prefix, 'PARAMETER_PREFIX');
  if (prefix !== undefined && !/^(\/[a-zA-Z0-9_.-]+)+$/.test(prefix)) {
    throw new UsageError(`--prefix ${prefix} must start with / and hold only a-z A-Z 0-9 _ . - between single slashes, without a trailing /`);
  }
  const ttl = pick(values.ttl, 'RECORD_TTL');
  if (ttl !== undefined && (!/^\d+$/.test(ttl) || Number(ttl) > 604800)) throw new UsageError(`--ttl ${ttl} must be a whole number of seconds from 0 to 604800`);
  const onStop = pick(values['on-stop'], 'ON_STOP');
  if (onStop !== undefined && onStop !== 'delete' && onStop !== 'keep') throw new UsageError(`--on-stop ${onStop} must be delete or keep`);
  const schedule = values.schedule;
  if (schedule !== undefined && !/^(rate|cron)\(.+\)$/.test(schedule)) throw new UsageError(`--schedule ${schedule} must be an EventBridge schedule such as 'rate(15 minutes)' or 'cron(0/15 * * * ? *)'`);
  if (values['enable-elastic-ip'] && values['disable-elastic-ip']) throw new UsageError('--enable-elastic-ip and --disable-elastic-ip contradict each other');
  const eip = values['enable-elastic-ip'] ? 'true' : values['disable-elastic-ip'] ? 'false' : undefined;
  const days = values['log-retention-days'];
  if (days !== undefined && !LOG_RETENTION_DAYS.includes(Number(days))) throw new UsageError(`--log-retention-days ${days} must be one of ${LOG_RETENTION_DAYS.join(', ')}`);
  return {
    HostedZoneId: zoneId('--hosted-zone-id', pick(values['hosted-zone-id'], 'HOSTED_ZONE_ID')),
    PrivateHostedZoneId: zoneId('--private-hosted-zone-id', pick(values['private-hosted-zone-id'], 'PRIVATE_HOSTED_ZONE_ID')),
    ParameterPrefix: prefix,
    RecordTtl: ttl === undefined ? undefined : String(Number(ttl)),
    OnStop: onStop,
    ReconcileSchedule: schedule,
    EnableElasticIp: eip,
    LogRetentionDays: days === undefined ? undefined : String(Number(days)),
  };
}

/** Short polls against an emulator (tests), gentle ones against AWS. */
export function pollInterval(env: Record<string, string | undefined>): number {
  return env.AWS_ENDPOINT_URL || env.AWS_ENDPOINT_URL_CLOUDFORMATION ? 100 : 3000;
}

export async function deploy(args: string[], io: Io): Promise<number> {
  const { values } = parse(args, OPTIONS);
  if (values.help) {
    io.stdout(HELP);
    return EXIT.ok;
  }
  if (values['owner-id'] !== undefined) throw new UsageError('a deployed stack owns its records under its stack name: use --stack-name instead of --owner-id');
  if (values.spokes) {
    if (values.hub) throw new UsageError('--hub and --spokes are two deploys: the hub stack in the DNS account, then the spokes StackSet');
    return deploySpokes(values, io);
  }
  const hub = values.hub ?? false;
  const hubGiven = hub ? hubParametersFromFlags(values, io.env) : {};
  if (!hub) {
    const stray = Object.keys(HUB_OPTIONS).find((k) => k !== 'hub' && values[k as keyof typeof values] !== undefined);
    if (stray) throw new UsageError(`--${stray} is a hub setting: add --hub`);
  }
  const stackName = values['stack-name'] ?? 'ec2ip';
  // The function is named after the stack (64 characters at most).
  if (!/^[A-Za-z][A-Za-z0-9-]{0,63}$/.test(stackName)) throw new UsageError(`--stack-name ${stackName} must be 1-64 of A-Z a-z 0-9 -, starting with a letter`);
  if (values.bucket !== undefined) checkBucketName(values.bucket);
  const given = parametersFromFlags(values, io.env);
  const dryRun = values['dry-run'] ?? false;
  if (values.profile) io.env.AWS_PROFILE = values.profile;

  // Local work first: a broken build fails before anything touches AWS.
  const paths = locate();
  const templatePath = hub ? paths.hubTemplate : paths.template;
  let pkg: ReturnType<typeof packageBundle>;
  let templateBody: string;
  try {
    await ensureBuilt(paths, { skip: values['skip-build'] ?? false }, io);
    pkg = packageBundle(paths.dist);
    templateBody = readFileSync(templatePath, 'utf8');
  } finally {
    paths.cleanup?.();
  }
  const templateName = paths.cleanup ? `the ${hub ? 'hub ' : ''}template built into this executable` : relative(io.cwd, templatePath) || templatePath;
  io.stderr(`Packaged ${pkg.files.join(' + ')}: ${(pkg.zip.length / 1024).toFixed(0)} KB zip, sha256 ${pkg.sha256.slice(0, 12)}…\n`);

  const clientConfig = values.region ? { region: values.region } : {};
  const endpointSet = !!(io.env.AWS_ENDPOINT_URL || io.env.AWS_ENDPOINT_URL_S3);
  const cfn = new CloudFormationClient(clientConfig);
  // Emulators answer path-style requests; virtual-hosted names would need DNS for <bucket>.<host>.
  const s3 = new S3Client({ ...clientConfig, ...(endpointSet ? { forcePathStyle: true } : {}) });
  let region: string | undefined;
  try {
    region = await cfn.config.region();
  } catch {
    region = undefined;
  }
  if (!region) throw new UsageError('no AWS region: pass --region, set AWS_REGION, or use a profile (AWS_PROFILE) that has one');
  const pollMs = pollInterval(io.env);

  const uploadOnly = values['upload-only'] ?? false;
  if (uploadOnly && dryRun) throw new UsageError('--upload-only and --dry-run contradict each other');
  const previous = uploadOnly ? undefined : await describeStack(cfn, stackName);
  checkUpdatable(previous);
  const reusable = previous && previous.status !== 'ROLLBACK_COMPLETE' && previous.status !== 'REVIEW_IN_PROGRESS' ? previous.parameters : undefined;

  let bucket = values.bucket;
  let partition = 'aws';
  if (!bucket) {
    try {
      const me = await new STSClient(clientConfig).send(new GetCallerIdentityCommand({}));
      if (!me.Account) throw new Error('GetCallerIdentity returned no account');
      partition = me.Arn?.split(':')[1] || partition;
      bucket = defaultBucketName(me.Account, region);
    } catch (error) {
      throw explainAwsError(error, 'finding your account id (for the default bucket name; or pass --bucket)');
    }
  }
  const key = codeKey(pkg.sha256);
  // Usage errors (a new stack without a zone) before anything is created.
  const parameters = uploadOnly ? {} : resolveParameters(templateParameters(templateBody), { ...given, ...hubGiven, CodeS3Bucket: bucket, CodeS3Key: key }, reusable, { ...FLAG_OF, ...HUB_FLAG_OF });
  if (hub && !uploadOnly) {
    checkHubParameters(parameters);
    for (const warning of hubWarnings(parameters)) io.stderr(`${warning}\n`);
  }

  if (!uploadOnly) {
    io.stderr(`Validating ${templateName}\n`);
    await validateTemplate(cfn, templateBody, templateName);
  }

  const state = await bucketState(s3, bucket);
  if (dryRun) {
    if (state === 'missing') io.stderr(`Would create s3://${bucket} in ${region} and upload ${key}\n`);
    else if (!(await objectExists(s3, bucket, key))) io.stderr(`Would upload s3://${bucket}/${key}\n`);
    else io.stderr(`s3://${bucket}/${key} is already there\n`);
  } else {
    const tlsOnly = !/^http:/i.test(io.env.AWS_ENDPOINT_URL_S3 ?? io.env.AWS_ENDPOINT_URL ?? '');
    if (state === 'missing') for (const line of await createBucket(s3, bucket, region, { partition, tlsOnly })) io.stderr(`Bucket: ${line}\n`);
    if (await objectExists(s3, bucket, key)) {
      io.stderr(`s3://${bucket}/${key} is already there: nothing to upload\n`);
    } else {
      io.stderr(`Uploading s3://${bucket}/${key}\n`);
      await upload(s3, bucket, key, pkg.zip);
    }
  }
  if (uploadOnly) {
    // For StackSets: the CodeS3Bucket/CodeS3Key parameters of this region.
    io.stdout(values.json ? `${JSON.stringify({ region, bucket, key, sha256: pkg.sha256 }, null, 2)}\n` : `CodeS3Bucket  ${bucket}\nCodeS3Key     ${key}\n`);
    return EXIT.ok;
  }

  const result = await deployStack({
    cfn,
    stackName,
    previous,
    templateBody,
    parameters,
    dryRun,
    io,
    pollMs,
    description: `ec2ip deploy of ${key}`,
  });

  if (result.outcome === 'dry-run') {
    io.stderr(`Dry run: the change set was deleted; nothing changed.\n`);
    if (values.json) io.stdout(`${JSON.stringify({ stack: stackName, status: previous?.status ?? null, changed: false, dryRun: true, changes: result.changes.map((c) => c.ResourceChange ?? c) }, null, 2)}\n`);
    return EXIT.ok;
  }
  if (result.outcome === 'no-changes') io.stderr(`No changes: the stack ${stackName} in ${region} is up to date (${result.stack.status}).\n`);
  else io.stderr(`Deployed: the stack ${stackName} in ${region} is ${result.stack.status}.\n`);
  await printOutputs(cfn, result.stack, result.outcome === 'deployed', values.json ?? false, io);
  return EXIT.ok;
}

async function printOutputs(cfn: CloudFormationClient, stack: DeployedStack, changed: boolean, json: boolean, io: Io): Promise<void> {
  const outputs = Object.fromEntries(stack.outputs.map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
  if (json) {
    io.stdout(`${JSON.stringify({ stack: stack.name, status: stack.status, changed, outputs }, null, 2)}\n`);
    return;
  }
  if (stack.outputs.length > 0) {
    const width = Math.max(...Object.keys(outputs).map((k) => k.length));
    for (const [k, v] of Object.entries(outputs)) io.stdout(`${k.padEnd(width)}  ${v}\n`);
    return;
  }
  // Some emulators report no outputs for stacks made by change sets: show the resources instead.
  const resources = await stackResources(cfn, stack.id);
  if (resources.length === 0) {
    io.stderr(`The stack ${stack.name} reports no outputs.\n`);
    return;
  }
  io.stderr('The stack reports no outputs; its resources:\n');
  const width = Math.max(...resources.map(([id]) => id.length));
  for (const [id, type, physical] of resources) io.stdout(`${id.padEnd(width)}  ${physical}  (${type})\n`);
}
