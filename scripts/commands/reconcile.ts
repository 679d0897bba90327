/** `ec2ip reconcile`: applies the plan with the Lambda's own loop and reports what landed. */
import { changeCount } from '../../functions/core/plan.js';
import { sync } from '../../functions/sync/engine.js';
import { explainAwsError } from '../cli/aws-errors.js';
import { describeSettings, loadContext } from '../cli/context.js';
import { EXIT } from '../cli/errors.js';
import type { Io } from '../cli/io.js';
import { COMMON_HELP, parse } from '../cli/options.js';
import { formatPlan, summarise } from '../cli/plan-format.js';
import { syncDeps } from '../cli/sync-deps.js';

export const HELP = `Usage: ec2ip reconcile [--verbose]

Runs a full reconcile now, as the Lambda's schedule does, with your credentials:
brings every tagged instance's Route 53 records and SSM parameters up to date and
removes what ec2ip owns for instances that are gone. Prints the changes and a
summary. \`ec2ip plan\` shows the same changes without making them.
Exit 1 if any change failed (run it again, or see --verbose).

Options:
  --verbose   the loop's JSON log lines on stderr

${COMMON_HELP}
`;

export async function reconcile(args: string[], io: Io): Promise<number> {
  const { values } = parse(args, { verbose: { type: 'boolean' } });
  if (values.help) {
    io.stdout(HELP);
    return EXIT.ok;
  }
  const ctx = await loadContext(values, io);
  io.stderr(`${describeSettings(ctx)}\n`);
  const result = await sync(syncDeps(ctx, io, values.verbose ?? false), { kind: 'all' }).catch((error: unknown) => {
    throw explainAwsError(error, 'reading the instances, records and parameters');
  });
  io.stdout(formatPlan(result.plan, ctx.config.prefix, result.elasticIps));
  const planned = changeCount(result.plan);
  io.stdout(
    `Reconciled ${result.instances.size} tagged instances: ${planned === 0 ? summarise(result.plan) : `${result.written} of ${summarise(result.plan)} applied`}.\n`,
  );
  if (result.failed.size === 0) return EXIT.ok;
  for (const [id, reason] of result.failed) io.stderr(`failed ${id}: ${reason}\n`);
  io.stderr(`${result.failed.size} instances were not fully reconciled; run \`ec2ip reconcile\` again, or add --verbose to see why\n`);
  return EXIT.failed;
}
