/** `ec2ip plan [--json]`: what a reconcile would change, computed by the Lambda's own loop; writes nothing. */
import { sync } from '../../functions/sync/engine.js';
import { explainAwsError } from '../cli/aws-errors.js';
import { describeSettings, loadContext } from '../cli/context.js';
import { EXIT } from '../cli/errors.js';
import type { Io } from '../cli/io.js';
import { COMMON_HELP, parse } from '../cli/options.js';
import { formatPlan, planJson, summarise } from '../cli/plan-format.js';
import { syncDeps } from '../cli/sync-deps.js';

export const HELP = `Usage: ec2ip plan [--json] [--verbose]

Shows what a full reconcile would change, with your credentials and the settings
of the deployed stack (or the flags and environment): Route 53 records to create
or delete, SSM parameters to write or delete, and names that are refused (a
record someone else owns, two instances claiming one name, an invalid name).
It is the same loop the Lambda runs, in a dry run: it writes nothing. Exit 0
whether or not there are changes.

  + CREATE A web.example.com 203.0.113.7       a record to create
  - DELETE A web.example.com 198.51.100.4      a record to delete
  ~ put /ec2ip/web/public-ip = 203.0.113.7     a parameter to overwrite
  ! web (i-0abc…) in example.com: …             a refusal, with its reason

Options:
  --json      the plan as one JSON object
  --verbose   the loop's JSON log lines on stderr

${COMMON_HELP}
`;

export async function plan(args: string[], io: Io): Promise<number> {
  const { values } = parse(args, { json: { type: 'boolean' }, verbose: { type: 'boolean' } });
  if (values.help) {
    io.stdout(HELP);
    return EXIT.ok;
  }
  const ctx = await loadContext(values, io);
  io.stderr(`${describeSettings(ctx)}\n`);
  const result = await sync(syncDeps(ctx, io, values.verbose ?? false), { kind: 'all' }, { dryRun: true }).catch((error: unknown) => {
    throw explainAwsError(error, 'reading the instances, records and parameters');
  });
  if (values.json) {
    io.stdout(`${JSON.stringify(planJson(result.plan, ctx, result.elasticIps), null, 2)}\n`);
    return EXIT.ok;
  }
  io.stdout(formatPlan(result.plan, ctx.config.prefix, result.elasticIps));
  const summary = summarise(result.plan);
  io.stdout(`Plan: ${summary} for ${result.instances.size} tagged instances.${summary.startsWith('no changes') ? '' : ' Run `ec2ip reconcile` to apply.'}\n`);
  return EXIT.ok;
}
