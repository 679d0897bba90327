/** `ec2ip doctor [--json] [--redrive [--yes]]`: checks the deployed stack end to end; writes nothing except --redrive. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import { clientConfig } from '../../functions/adapters/clients.js';
import { explainAwsError } from '../cli/aws-errors.js';
import { loadContext } from '../cli/context.js';
import { EXIT, UsageError } from '../cli/errors.js';
import type { Io } from '../cli/io.js';
import { VERSION } from '../cli/main.js';
import { COMMON_HELP, parse } from '../cli/options.js';
import { syncDeps } from '../cli/sync-deps.js';
import { packageRoot } from '../deploy/build.js';
import { checkEvents } from '../doctor/events.js';
import { checkFunction } from '../doctor/function.js';
import { checkHub } from '../doctor/hub.js';
import { checkInstances } from '../doctor/instances.js';
import { probe } from '../doctor/probe.js';
import { redrive } from '../doctor/redrive.js';
import { formatCheck, formatSummary, report, type Check } from '../doctor/report.js';
import { checkStack } from '../doctor/stack.js';
import { checkZones } from '../doctor/zones.js';

export const HELP = `Usage: ec2ip doctor [--stack-name NAME] [--json] [--dns-server IP[:PORT]] [--redrive [--yes]]

Checks the deployed stack end to end and prints one line per check, ok, warn or
FAIL, with the resource's name and, for anything not ok, the fix:
  stack      exists, *_COMPLETE, deployed by this version of ec2ip, its settings
  events     both rules ENABLED and targeting the queue, the queue policy admits
             them, the queue -> function mapping is enabled, the queue's backlog,
             the dead-letter queue is empty (else its first event and why)
  function   errors and throttles, refused names, failed items, unreachable spokes
             (24 h), the last scheduled reconcile
  zones      each zone exists, public/private as configured; the public zone's
             delegation in public DNS names its name servers; its negative TTL
  instances  each ec2ip:name instance is published as EC2 says now, or why not;
             what \`ec2ip plan\` would change
  hub        the spokes; the hub's bus admits each one's events; each reachable at
             the hub's last reconcile, or why not
A check that cannot run for lack of permission says which action is missing.
It writes nothing, except --redrive.

Options:
  --json                the report as one JSON object (schema in the README)
  --dns-server IP[:P]   the DNS resolver for the delegation check (else the system's)
  --redrive             move the dead-letter queue's messages back to the queue
                        (SQS message move task; nothing is deleted), after asking
  --yes                 do not ask (scripts)

Exit codes: 0 nothing failed (warnings allowed), 1 something failed, 2 usage or credentials.

${COMMON_HELP}
`;

/** The version of this ec2ip: inlined by the build, else (unbundled source) the package's. */
function cliVersion(): string {
  if (VERSION !== '0.0.0-source') return VERSION;
  try {
    return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return VERSION;
  }
}

/** Asks on the terminal; false when there is none (then --yes is needed). */
async function askOnTerminal(question: string): Promise<boolean | undefined> {
  if (!process.stdin.isTTY) return undefined;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

export interface DoctorOptions {
  /** Replaces the terminal prompt (tests). */
  confirm?: (question: string) => Promise<boolean | undefined>;
  now?: () => Date;
  redrivePollMs?: number;
}

export async function doctor(args: string[], io: Io, options: DoctorOptions = {}): Promise<number> {
  const { values } = parse(args, {
    json: { type: 'boolean' },
    redrive: { type: 'boolean' },
    yes: { type: 'boolean', short: 'y' },
    'dns-server': { type: 'string', multiple: true },
  });
  if (values.help) {
    io.stdout(HELP);
    return EXIT.ok;
  }
  if (values.yes && !values.redrive) throw new UsageError('--yes only goes with --redrive');
  const servers = values['dns-server'];
  for (const s of servers ?? []) if (!/^[0-9a-fA-F.:[\]]+$/.test(s)) throw new UsageError(`--dns-server "${s}" is not an IP address (with an optional :port)`);
  // doctor reads the stack it checks, even when a zone is in the environment.
  const ctx = await loadContext({ ...values, 'stack-name': values['stack-name'] ?? 'ec2ip' }, io);
  const common = clientConfig(io.env, { region: ctx.config.region, profile: values.profile?.trim() || undefined, requestTimeoutMs: ctx.runtime.requestTimeoutMs });
  const cfn = new CloudFormationClient(common);
  // Requests go to the configured endpoint, not to the host in the queue URL (as the Lambda's client does).
  const sqs = new SQSClient({ ...common, useQueueUrlAsEndpoint: false });
  const c = { events: new EventBridgeClient(common), sqs, lambda: new LambdaClient(common), cloudwatch: new CloudWatchClient(common), logs: new CloudWatchLogsClient(common) };
  const now = options.now ?? (() => new Date());

  const checks: Check[] = [];
  const sink = (check: Check) => {
    checks.push(check);
    if (!values.json) io.stdout(formatCheck(check));
  };
  const stackName = ctx.stack.name;
  let stack;
  try {
    stack = await checkStack(cfn, stackName, cliVersion(), ctx.config, sink);
  } catch (error) {
    // No credentials (exit 2) or no network: nothing else would answer either.
    throw explainAwsError(error, `reading the stack ${stackName}`);
  }
  if (stack) {
    await checkEvents(c, stack, sink, now());
    await checkFunction(c.cloudwatch, c.logs, stack, ctx.config.ownerId, sink, now());
  }
  await checkZones(ctx.clients.route53, ctx.config, servers, sink);
  if (stack?.hub) {
    await checkHub(cfn, c.logs, c.events, stack, sink, now());
    // The spoke roles trust the hub's function role only: the CLI cannot read the spokes' instances.
    sink({
      section: 'instances',
      id: 'plan',
      status: 'warn',
      resource: 'ec2ip plan',
      message: "not checked: a hub's instances live in the spokes, whose roles trust only the hub's function role",
      fix: "run `ec2ip plan` as the hub's function role (with the hub's SPOKE_* settings), or read the function's `reconcile done` lines",
    });
  } else if (ctx.config.hostedZoneId !== undefined || ctx.config.privateHostedZoneId !== undefined) {
    await probe(sink, { section: 'instances', id: 'plan', resource: 'ec2ip plan', action: 'ec2:DescribeInstances' }, () => checkInstances(syncDeps(ctx, io, false), sink));
  }

  if (values.redrive) {
    const dlq = stack?.resources.DeadLetterQueue;
    const queue = stack?.resources.EventQueue;
    if (!dlq || !queue) {
      sink({ section: 'redrive', id: 'redrive', status: 'fail', resource: stackName, message: 'no dead-letter queue to redrive: the stack is missing or has none', fix: 'run ec2ip deploy' });
    } else {
      const question = `Move the messages of ${dlq} back to ${queue}? [y/N] `;
      const answer = values.yes ? true : await (options.confirm ?? askOnTerminal)(question);
      if (answer === undefined) throw new UsageError('--redrive asks for confirmation on a terminal: pass --yes to redrive without asking');
      if (answer) await redrive(sqs, dlq, queue, sink, options.redrivePollMs !== undefined ? { pollMs: options.redrivePollMs } : {});
      else sink({ section: 'redrive', id: 'redrive', status: 'warn', resource: dlq, message: 'not redriven: not confirmed', fix: 'run `ec2ip doctor --redrive` again and answer y, or pass --yes' });
    }
  }

  const r = report(stackName, ctx.config.region, checks);
  io.stdout(values.json ? `${JSON.stringify(r, null, 2)}\n` : `\n${formatSummary(r)}`);
  return r.exitCode;
}
