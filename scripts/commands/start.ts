/**
 * `ec2ip start NAME [--wait]` and `ec2ip stop NAME [--wait]`: StartInstances/StopInstances
 * for the instance published under NAME. `start --wait` returns once the address published
 * after the start answers on the port, as `ec2ip proxy --start` would connect to it.
 */
import { loadConnectContext } from '../cli/connect-context.js';
import { reach, publishedInstance, PUBLISH_GRACE_MS } from '../cli/connect-on-demand.js';
import { formatSeconds, parseDuration } from '../cli/connect-plan.js';
import { parseName } from '../cli/connect-options.js';
import { CliError, EXIT, UsageError } from '../cli/errors.js';
import { describeOne, startInstance, stopInstance } from '../cli/instance-control.js';
import type { Io } from '../cli/io.js';
import { COMMON_HELP, parse, parsePort } from '../cli/options.js';

export const START_HELP = `Usage: ec2ip start NAME [--wait [--timeout T] [--port N]] [--private]

Starts the instance published as NAME (StartInstances). With --wait, returns once
its new address is published (never the one from before it stopped) and PORT
answers there; ready for "ssh NAME".

Options:
  --wait          wait for the new address and the port
  --timeout T     how long --wait waits (90, 90s, 5m; default 5m)
  --port N        the port to wait for (default 22)
  --private       wait for the port on the private IPv4 instead

${COMMON_HELP}
`;

export const STOP_HELP = `Usage: ec2ip stop NAME [--wait [--timeout T]]

Stops the instance published as NAME (StopInstances). With --wait, returns once
EC2 reports it stopped.

Options:
  --wait          wait until it is stopped
  --timeout T     how long --wait waits (default 10m)

${COMMON_HELP}
`;

export async function start(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, { wait: { type: 'boolean' }, timeout: { type: 'string' }, port: { type: 'string' }, private: { type: 'boolean' } }, 1);
  if (values.help) {
    io.stdout(START_HELP);
    return EXIT.ok;
  }
  const name = parseName(positionals[0], 'ec2ip start NAME');
  const port = parsePort(values.port);
  const timeoutMs = parseTimeout(values.timeout, values.wait, 5 * 60_000);
  const ctx = await loadConnectContext(values, io);
  if (!values.wait) {
    const { instanceId } = await publishedInstance(ctx, name);
    const before = await describeOne(ctx.ec2, instanceId);
    if (before === 'gone') throw new CliError(`${name} (${instanceId}) no longer exists in EC2`, EXIT.failed);
    if (before.state === 'running' || before.state === 'pending') {
      io.stderr(`${name}: ${instanceId} is already ${before.state}\n`);
      return EXIT.ok;
    }
    if (before.state !== 'stopped') throw new CliError(`${name} (${instanceId}) is ${before.state}: it can be started once it has stopped (or use --wait)`, EXIT.failed);
    await startInstance(ctx.ec2, instanceId);
    io.stderr(`${name}: starting ${instanceId} (add --wait to wait until it answers on port ${port})\n`);
    return EXIT.ok;
  }
  const reached = await reach(
    ctx,
    { name, port, route: values.private ? 'private' : 'public', mayStart: true, patient: true, waitMs: timeoutMs, publishGraceMs: ctx.publishGraceOverrideMs ?? PUBLISH_GRACE_MS },
    (line) => io.stderr(`${line}\n`),
  );
  if (reached.kind === 'socket') {
    reached.socket.destroy();
    io.stdout(`${reached.address}\n`);
  }
  return EXIT.ok;
}

export async function stop(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, { wait: { type: 'boolean' }, timeout: { type: 'string' } }, 1);
  if (values.help) {
    io.stdout(STOP_HELP);
    return EXIT.ok;
  }
  const name = parseName(positionals[0], 'ec2ip stop NAME');
  const timeoutMs = parseTimeout(values.timeout, values.wait, 10 * 60_000);
  const ctx = await loadConnectContext(values, io);
  const { instanceId } = await publishedInstance(ctx, name);
  const t0 = Date.now();
  const before = await describeOne(ctx.ec2, instanceId);
  if (before === 'gone') throw new CliError(`${name} (${instanceId}) no longer exists in EC2`, EXIT.failed);
  if (before.state === 'terminated' || before.state === 'shutting-down') throw new CliError(`${name} (${instanceId}) is ${before.state}: nothing to stop`, EXIT.failed);
  if (before.state === 'stopped') {
    io.stderr(`${name}: ${instanceId} is already stopped\n`);
    return EXIT.ok;
  }
  if (before.state !== 'stopping') await stopInstance(ctx.ec2, instanceId);
  io.stderr(`${name}: stopping ${instanceId}\n`);
  if (!values.wait) return EXIT.ok;
  for (;;) {
    const now = await describeOne(ctx.ec2, instanceId);
    if (now === 'gone' || now.state === 'stopped' || now.state === 'terminated') {
      io.stderr(`${name}: ${now === 'gone' ? 'gone' : now.state} after ${formatSeconds(Date.now() - t0)}\n`);
      return EXIT.ok;
    }
    if (Date.now() - t0 >= timeoutMs) throw new CliError(`${name} (${instanceId}) was still ${now.state} after ${formatSeconds(timeoutMs)}: look at it in the EC2 console, or raise --timeout`, EXIT.failed);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

function parseTimeout(value: string | undefined, wait: boolean | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!wait) throw new UsageError('--timeout goes with --wait');
  const ms = parseDuration(value);
  if (ms === undefined) throw new UsageError(`--timeout "${value}" is not a duration: give seconds (90), or 90s, 5m, 1h`);
  return ms;
}
