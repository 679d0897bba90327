/** `ec2ip get NAME [--field F]`: one GetParameter, the value alone on stdout. */
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { PARAMETER_LEAVES } from '../../functions/core/desired.js';
import { checkName } from '../../functions/core/names.js';
import { explainAwsError } from '../cli/aws-errors.js';
import { loadContext } from '../cli/context.js';
import { CliError, EXIT, UsageError } from '../cli/errors.js';
import type { Io } from '../cli/io.js';
import { COMMON_HELP, parse } from '../cli/options.js';

export const HELP = `Usage: ec2ip get NAME [--field FIELD]

Prints one published value of the instance named NAME (its SSM parameter
<prefix>/NAME/FIELD) and nothing else, so it is safe in $(...):

  ssh ec2-user@$(ec2ip get web)

Exits 1 with a message on stderr when the instance is unknown or has no such
value (a stopped instance has no public-ip).

Options:
  --field FIELD   ${PARAMETER_LEAVES.join(', ')} (default public-ip)

${COMMON_HELP}
`;

export async function get(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, { field: { type: 'string' } }, 1);
  if (values.help) {
    io.stdout(HELP);
    return EXIT.ok;
  }
  const tag = positionals[0];
  if (!tag) throw new UsageError('give the instance name: ec2ip get NAME');
  const check = checkName(tag, []);
  if (!check.ok) throw new UsageError(check.reason.replace('the ec2ip:name tag', 'the name'));
  const field = values.field ?? 'public-ip';
  if (!(PARAMETER_LEAVES as readonly string[]).includes(field)) throw new UsageError(`--field ${field} is not one of ${PARAMETER_LEAVES.join(', ')}`);
  const ctx = await loadContext(values, io, { needs: 'prefix' });
  const { prefix } = ctx.config;
  const { ssm } = ctx.clients;
  const folder = `${prefix}/${check.name}`;
  const read = async (leaf: string) => {
    try {
      return (await ssm.send(new GetParameterCommand({ Name: `${folder}/${leaf}` }))).Parameter?.Value;
    } catch (error) {
      if ((error as { name?: string }).name === 'ParameterNotFound') return undefined;
      throw explainAwsError(error, `reading ${folder}/${leaf}`);
    }
  };
  const value = await read(field);
  if (value !== undefined) {
    io.stdout(`${value}\n`);
    return EXIT.ok;
  }
  const owner = field === 'instance-id' ? undefined : await read('instance-id');
  throw new CliError(
    owner
      ? `${check.name} (${owner}) has no ${field} now: it is stopped, or has no such address (${folder}/${field} is absent)`
      : `no instance named ${check.name} is published under ${prefix} (tag it ec2ip:name=${check.name}, or check --prefix and --region)`,
    EXIT.failed,
  );
}
