/**
 * The loop behind `ec2ip proxy` and `ec2ip start --wait`: looks at the instance, lets
 * `nextStep` decide, and does it (StartInstances once, wait, connect) until it is reachable
 * or the time is up. Progress goes out one line per phase, never one per retry.
 */
import type { Socket } from 'node:net';
import type { Instance } from '../../functions/core/types.js';
import type { ConnectContext } from './connect-context.js';
import { formatSeconds, nextStep, type Observation, type PlanState, type Route } from './connect-plan.js';
import { CliError, EXIT } from './errors.js';
import { describeOne, readEntry, startInstance, type PublishedEntry } from './instance-control.js';
import { isInstanceId } from './ssh-targets.js';
import { connectOnce, waitForPort } from './wait-for-port.js';

/** No address published this long after the instance runs: use EC2's (SPEC: 60 s). */
export const PUBLISH_GRACE_MS = 60_000;

/** How often the state and the parameters are read again while waiting. */
const POLL_MS = 1000;

export interface ReachOptions {
  name: string;
  port: number;
  route: Route;
  mayStart: boolean;
  /** Waiting allowed at all (`--start` or `--wait`). */
  patient: boolean;
  waitMs: number;
  publishGraceMs: number;
}

export type Reached = { kind: 'socket'; socket: Socket; address: string; instanceId: string } | { kind: 'tunnel'; instanceId: string };

/** The instance id published for `name`; throws the "unknown name" error. */
export async function publishedInstance(ctx: ConnectContext, name: string): Promise<{ instanceId: string; entry: PublishedEntry }> {
  const entry = await readEntry(ctx.ssm, ctx.prefix, name);
  if (entry.instanceId === undefined) {
    throw new CliError(`no instance named ${name} is published under ${ctx.prefix} in ${ctx.region} (tag it ec2ip:name=${name}, or check --prefix, --region and --profile)`, EXIT.failed);
  }
  if (!isInstanceId(entry.instanceId)) throw new CliError(`${ctx.prefix}/${name}/instance-id holds "${entry.instanceId}", not an instance id: run "ec2ip reconcile"`, EXIT.failed);
  return { instanceId: entry.instanceId, entry };
}

/** Makes the instance reachable on `port` as `options` allow; reports progress through `progress`. */
export async function reach(ctx: ConnectContext, options: ReachOptions, progress: (line: string) => void, now: () => number = Date.now): Promise<Reached> {
  const t0 = now();
  const deadline = t0 + options.waitMs;
  const { name, port } = options;
  let { instanceId, entry } = await publishedInstance(ctx, name);
  const who = `${name} (${instanceId})`;
  const state: PlanState = {
    name,
    instanceId,
    route: options.route,
    mayStart: options.mayStart,
    patient: options.patient,
    started: false,
    publishGraceMs: options.publishGraceMs,
    stackName: ctx.stackName,
  };
  let described: Instance | 'gone' | undefined;
  let runningSince: number | undefined;
  let waited = false;
  let lastLine = '';
  const say = (line: string) => {
    if (line !== lastLine) progress(line);
    lastLine = line;
  };

  for (;;) {
    // Once running, the state is known: only the parameters are read again.
    if (described === undefined || described === 'gone' || described.state !== 'running') described = await describeOne(ctx.ec2, instanceId);
    const current: Instance | 'gone' = described;
    if (current !== 'gone' && current.state !== 'running' && !state.fresh) state.fresh = { baseline: entry.publicIp?.modified };
    if (current !== 'gone' && current.state === 'running' && runningSince === undefined) runningSince = now();
    state.runningFor = state.fresh && runningSince !== undefined ? now() - runningSince : undefined;
    const seen: Observation =
      current === 'gone'
        ? { state: 'gone' }
        : { state: current.state, publicIp: entry.publicIp, privateIp: entry.privateIp, describedPublicIp: current.publicIp, describedPrivateIp: current.privateIp };
    const step = nextStep(seen, state);

    switch (step.do) {
      case 'fail':
        throw new CliError(step.message, EXIT.failed);
      case 'start':
        say(`${name}: starting ${instanceId}`);
        await startInstance(ctx.ec2, instanceId);
        state.started = true;
        waited = true;
        described = undefined;
        continue;
      case 'wait': {
        say(step.line);
        waited = true;
        if (now() >= deadline) throw new CliError(timeoutMessage(who, step.phase, options.waitMs), EXIT.failed);
        await sleep(Math.min(POLL_MS, Math.max(0, deadline - now())));
        entry = (await readEntry(ctx.ssm, ctx.prefix, name)) ?? entry;
        if (entry.instanceId !== undefined && entry.instanceId !== instanceId) {
          throw new CliError(`${name} now belongs to ${entry.instanceId}, not ${instanceId}: connect again`, EXIT.failed);
        }
        continue;
      }
      case 'tunnel':
        if (waited) say(`${name}: running; opening the ${options.route === 'ssm' ? 'Session Manager' : 'EC2 Instance Connect Endpoint'} tunnel to port ${port}`);
        return { kind: 'tunnel', instanceId };
      case 'connect': {
        if (step.warning) progress(step.warning);
        if (waited) say(`${name}: running at ${step.address}, waiting for port ${port}`);
        let socket: Socket;
        try {
          socket = options.patient ? await waitForPort(step.address, port, deadline, now) : await connectOnce(step.address, port, 10_000);
        } catch (error) {
          const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
          throw new CliError(
            options.patient
              ? `${who}: port ${port} at ${step.address} did not accept a connection within ${formatSeconds(options.waitMs)} (${reason}): is sshd up, and does the security group allow you? Raise --wait to wait longer`
              : `${who}: port ${port} at ${step.address} did not accept a connection (${reason}): if it is still booting, connect with --wait`,
            EXIT.failed,
            { cause: error },
          );
        }
        if (waited) progress(`${name}: connected after ${formatSeconds(now() - t0)}`);
        return { kind: 'socket', socket, address: step.address, instanceId };
      }
    }
  }
}

function timeoutMessage(who: string, phase: 'stopping' | 'pending' | 'address', waitMs: number): string {
  const limit = formatSeconds(waitMs);
  switch (phase) {
    case 'stopping':
      return `${who} was still stopping after ${limit}: try again later, or raise --wait`;
    case 'pending':
      return `${who} was still starting after ${limit}: look at it in the EC2 console, or raise --wait`;
    case 'address':
      return `${who} is running but no new address was published within ${limit}: raise --wait, or see "ec2ip plan"`;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
