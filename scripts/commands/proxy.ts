/**
 * `ec2ip proxy NAME PORT`: OpenSSH's ProxyCommand and PuTTY's local proxy. Resolves NAME from
 * the published parameters at connect time (no DNS, so no resolver cache and no stale file),
 * optionally starts the instance and waits for it, then relays stdin/stdout to the port.
 * It runs on every connection, so it loads only the SSM and EC2 clients.
 */
import { requireTunnelTools, runTunnel, tunnelArgs } from '../cli/aws-tunnel.js';
import { loadConnectContext } from '../cli/connect-context.js';
import { reach, PUBLISH_GRACE_MS } from '../cli/connect-on-demand.js';
import { CliError, EXIT } from '../cli/errors.js';
import type { Io } from '../cli/io.js';
import { COMMON_HELP, parse, parsePort } from '../cli/options.js';
import { CONNECT_OPTIONS, CONNECT_HELP, parseConnectOptions, parseName } from '../cli/connect-options.js';
import { relay } from '../cli/relay.js';

export const HELP = `Usage: ec2ip proxy NAME PORT [--start] [--wait T] [--private | --via ssm|eice]

For ssh's ProxyCommand and PuTTY's local proxy command ("ec2ip ssh-config --proxy"
and "ec2ip putty --proxy" write it). Looks up the instance named NAME in the
published parameters when ssh connects, then relays stdin and stdout to PORT on it
until both sides close. Progress and errors go to stderr, where ssh shows them.

${CONNECT_HELP}

${COMMON_HELP}
`;

export async function proxy(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, CONNECT_OPTIONS, 2);
  if (values.help) {
    io.stdout(HELP);
    return EXIT.ok;
  }
  const name = parseName(positionals[0], 'ec2ip proxy NAME PORT');
  const port = parsePort(positionals[1] ?? '', 'PORT');
  const connect = parseConnectOptions(values);
  const aws = connect.via ? requireTunnelTools(connect.via, io.env) : undefined;

  const ctx = await loadConnectContext(values, io);
  const reached = await reach(
    ctx,
    {
      name,
      port,
      route: connect.via ?? (connect.private ? 'private' : 'public'),
      mayStart: connect.start,
      patient: connect.patient,
      waitMs: connect.waitMs,
      publishGraceMs: ctx.publishGraceOverrideMs ?? PUBLISH_GRACE_MS,
    },
    (line) => io.stderr(`${line}\n`),
  );
  if (reached.kind === 'tunnel') {
    return runTunnel(aws as string, tunnelArgs(connect.via as 'ssm' | 'eice', reached.instanceId, port, ctx), io.env);
  }
  try {
    await relay(reached.socket, process.stdin, process.stdout);
  } catch (error) {
    throw new CliError(`${name}: the connection to ${reached.address}:${port} broke: ${(error as Error).message}`, EXIT.failed, { cause: error });
  } finally {
    process.stdin.destroy();
  }
  return EXIT.ok;
}
