/** The stack checks: it exists, is in a `*_COMPLETE` state, was deployed by this ec2ip, and its settings. */
import { DescribeStackResourcesCommand, DescribeStacksCommand, GetTemplateCommand, type CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { isAccessDenied } from '../cli/aws-errors.js';
import type { Config } from '../../functions/core/types.js';
import { probe, type Sink } from './probe.js';

/** What the checks after this one need to know of the stack. */
export interface StackInfo {
  name: string;
  status: string;
  /** Deployed from infra/hub.yaml (it has the spokes' bus). */
  hub: boolean;
  outputs: Record<string, string>;
  parameters: Record<string, string>;
  /** Logical id → physical id (queue URL, rule name, mapping UUID, function name). */
  resources: Record<string, string>;
}

/** The template Metadata key that carries the ec2ip version whose template it is (infra/*.yaml). */
export const VERSION_KEY = 'Ec2ipTemplateVersion';

/** The version stamp in a template body, YAML (`  Ec2ipTemplateVersion: "0.1.0"`) or JSON; undefined without one. */
export function templateVersion(body: string): string | undefined {
  const m = new RegExp(`^\\s*"?${VERSION_KEY}"?\\s*:\\s*["']?([0-9A-Za-z.+-]+)["']?\\s*,?\\s*$`, 'm').exec(body);
  return m?.[1];
}

/**
 * Checks the stack; returns what the other checks need, or undefined when there is no stack
 * to check (missing or unreadable: then nothing else can be found).
 */
export async function checkStack(cfn: CloudFormationClient, name: string, cliVersion: string, config: Config, sink: Sink): Promise<StackInfo | undefined> {
  let stack;
  try {
    stack = (await cfn.send(new DescribeStacksCommand({ StackName: name }))).Stacks?.[0];
  } catch (error) {
    const e = error as { name?: string; message?: string };
    if (isAccessDenied(error)) {
      sink({
        section: 'stack',
        id: 'stack-exists',
        status: 'fail',
        resource: name,
        message: 'cannot read the stack: access denied (your credentials lack cloudformation:DescribeStacks); nothing else can be found without it',
        fix: 'allow cloudformation:DescribeStacks and cloudformation:DescribeStackResources (README "IAM for the CLI")',
        missingPermission: 'cloudformation:DescribeStacks',
      });
      return undefined;
    }
    if (!(e?.name === 'ValidationError' && /does not exist/i.test(e.message ?? ''))) throw error;
  }
  if (!stack) {
    sink({
      section: 'stack',
      id: 'stack-exists',
      status: 'fail',
      resource: name,
      message: `no stack ${name} in ${config.region}`,
      fix: `run \`ec2ip deploy --hosted-zone-id Z…\` (or pass --stack-name / --region for a stack deployed elsewhere)`,
    });
    return undefined;
  }
  const status = stack.StackStatus ?? 'UNKNOWN';
  const outputs = Object.fromEntries((stack.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
  const parameters = Object.fromEntries((stack.Parameters ?? []).map((p) => [p.ParameterKey ?? '', p.ParameterValue ?? '']));
  // DescribeStackResources answers up to 100 resources: ec2ip's templates have fewer than 50.
  const { StackResources = [] } = await cfn.send(new DescribeStackResourcesCommand({ StackName: name }));
  const resources = Object.fromEntries(StackResources.map((r) => [r.LogicalResourceId ?? '', r.PhysicalResourceId ?? '']));
  const hub = 'SpokeBus' in resources || 'HubEventBusArn' in outputs;

  sink(stackStatus(name, status, stack.StackStatusReason));
  await probe(sink, { section: 'stack', id: 'template-version', resource: name, action: 'cloudformation:GetTemplate' }, async () => {
    const body = (await cfn.send(new GetTemplateCommand({ StackName: name, TemplateStage: 'Original' }))).TemplateBody ?? '';
    sink(versionCheck(name, templateVersion(body), cliVersion));
  });
  const zones = [config.hostedZoneId && `public zone ${config.hostedZoneId}`, config.privateHostedZoneId && `private zone ${config.privateHostedZoneId}`].filter(Boolean);
  sink({
    section: 'stack',
    id: 'stack-settings',
    status: zones.length > 0 ? 'ok' : 'fail',
    resource: name,
    message:
      `${hub ? 'hub; ' : ''}${zones.length > 0 ? zones.join(', ') : 'no zones'}, prefix ${config.prefix}, owner ${config.ownerId}, TTL ${config.ttl} s, on stop ${config.onStop}, ` +
      `Elastic IPs ${config.elasticIp ? 'on' : 'off'}`,
    ...(zones.length > 0 ? {} : { fix: 'run `ec2ip deploy --hosted-zone-id Z…` (and/or --private-hosted-zone-id)' }),
  });
  return { name, status, hub, outputs, parameters, resources };
}

function stackStatus(name: string, status: string, reason: string | undefined): Parameters<Sink>[0] {
  const base = { section: 'stack' as const, id: 'stack-status', resource: name };
  const why = reason ? ` (${reason})` : '';
  if (/_IN_PROGRESS$/.test(status)) return { ...base, status: 'warn', message: `${status}: an operation is running${why}`, fix: `wait for it: \`aws cloudformation wait stack-update-complete --stack-name ${name}\`, then run ec2ip doctor again` };
  if (status === 'UPDATE_ROLLBACK_COMPLETE') return { ...base, status: 'warn', message: `${status}: the last update failed and was rolled back; the previous version runs${why}`, fix: `see why in \`aws cloudformation describe-stack-events --stack-name ${name}\`, then run ec2ip deploy` };
  if (/ROLLBACK|FAILED|DELETE/.test(status)) return { ...base, status: 'fail', message: `${status}${why}`, fix: `see why in \`aws cloudformation describe-stack-events --stack-name ${name}\`; a stack in ROLLBACK_COMPLETE must be deleted (\`aws cloudformation delete-stack --stack-name ${name}\`) before ec2ip deploy` };
  if (/_COMPLETE$/.test(status)) return { ...base, status: 'ok', message: status };
  return { ...base, status: 'fail', message: `${status}${why}`, fix: 'run ec2ip deploy' };
}

function versionCheck(name: string, deployed: string | undefined, cli: string): Parameters<Sink>[0] {
  const base = { section: 'stack' as const, id: 'template-version', resource: name };
  if (!deployed) return { ...base, status: 'fail', message: `the stack's template has no ${VERSION_KEY}: it is older than the one this ec2ip ${cli} deploys`, fix: 'run ec2ip deploy (it keeps the stack\'s settings)' };
  const order = compareVersions(deployed, cli);
  if (order < 0) return { ...base, status: 'fail', message: `template version ${deployed}, older than this ec2ip ${cli}`, fix: 'run ec2ip deploy (it keeps the stack\'s settings)' };
  if (order > 0) return { ...base, status: 'warn', message: `template version ${deployed}, newer than this ec2ip ${cli}`, fix: 'upgrade the CLI: `npm install -g ec2ip@latest`' };
  return { ...base, status: 'ok', message: `template version ${deployed}, as this ec2ip deploys` };
}

/** Compares two `x.y.z[-pre]` versions numerically; a pre-release sorts before its release. */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const [core = '', pre] = v.split('-', 2);
    return { parts: core.split('.').map((n) => Number.parseInt(n, 10) || 0), pre };
  };
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < 3; i++) {
    const d = (x.parts[i] ?? 0) - (y.parts[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  if (x.pre === y.pre) return 0;
  if (x.pre === undefined) return 1;
  if (y.pre === undefined) return -1;
  return x.pre < y.pre ? -1 : 1;
}
