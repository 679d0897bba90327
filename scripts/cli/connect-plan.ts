/**
 * Connecting on demand, decided: from what EC2 says of the instance and what ec2ip has
 * published, the next step (start it, wait, connect to an address, open a tunnel, or give up
 * with a message). Pure: no AWS, no clock, no sockets; `connect-on-demand.ts` runs the loop.
 */
import type { InstanceState } from '../../functions/core/types.js';

/** How to reach the port: the public address, the private one, or an AWS tunnel. */
export type Route = 'public' | 'private' | 'ssm' | 'eice';

/** A published parameter's value and when it was last written (SSM's LastModifiedDate). */
export interface Stamped {
  value: string;
  modified: Date;
}

/** One look at the instance. */
export interface Observation {
  state: InstanceState | 'gone';
  publicIp?: Stamped | undefined;
  privateIp?: Stamped | undefined;
  /** What DescribeInstances reports now (undefined when not read this time). */
  describedPublicIp?: string | undefined;
  describedPrivateIp?: string | undefined;
}

/** What the loop knows beyond the observation. */
export interface PlanState {
  name: string;
  instanceId: string;
  route: Route;
  /** `--start`: a stopped instance may be started. */
  mayStart: boolean;
  /** Waiting is allowed (`--start` or `--wait`); otherwise anything not ready now fails. */
  patient: boolean;
  /** StartInstances was called by this run. */
  started: boolean;
  /**
   * Set once the instance was seen not running: only a public address published after that
   * counts. `modified` is the LastModifiedDate the public-ip parameter had then (undefined: it
   * was absent), so the comparison uses SSM's clock on both sides.
   */
  fresh?: { baseline: Date | undefined } | undefined;
  /** ms since the instance was first seen running while a fresh address was awaited. */
  runningFor?: number | undefined;
  /** ms without a fresh address after which DescribeInstances' address is used (60 s). */
  publishGraceMs: number;
  /** The stack whose function publishes, for the warning. */
  stackName: string;
}

export type Step =
  | { do: 'fail'; message: string }
  | { do: 'start' }
  | { do: 'wait'; phase: 'stopping' | 'pending' | 'address'; line: string }
  | { do: 'connect'; address: string; warning?: string }
  | { do: 'tunnel' };

/** The next step for `state` given `seen`. */
export function nextStep(seen: Observation, state: PlanState): Step {
  const { name, instanceId: id } = state;
  const who = `${name} (${id})`;
  switch (seen.state) {
    case 'gone':
      return { do: 'fail', message: `${who} no longer exists in EC2 (terminated and gone, or another region/account): its parameters are stale until the next reconcile` };
    case 'terminated':
      return { do: 'fail', message: `${who} is terminated: nothing to connect to (tag another instance ec2ip:name=${name} to reuse the name)` };
    case 'shutting-down':
      return { do: 'fail', message: `${who} is shutting down (being terminated): nothing to connect to` };
    case 'stopping':
      if (!state.mayStart) return { do: 'fail', message: `${who} is stopping: run "ec2ip start ${name}" once it has stopped, or connect with --start (waits, then starts it)` };
      return { do: 'wait', phase: 'stopping', line: `${name}: ${id} is stopping; waiting for it to stop, then starting it` };
    case 'stopped':
      if (state.started) return { do: 'wait', phase: 'pending', line: `${name}: ${id} is starting` };
      if (!state.mayStart) return { do: 'fail', message: `${who} is stopped: run "ec2ip start ${name}", or connect with --start` };
      return { do: 'start' };
    case 'pending':
      if (!state.patient) return { do: 'fail', message: `${who} is starting (pending): connect again in a moment, or with --start or --wait to wait for it` };
      return { do: 'wait', phase: 'pending', line: `${name}: ${id} is starting` };
    case 'running':
      return running(seen, state, who);
  }
}

function running(seen: Observation, state: PlanState, who: string): Step {
  if (state.route === 'ssm' || state.route === 'eice') return { do: 'tunnel' };
  if (state.route === 'private') {
    const address = seen.privateIp?.value ?? seen.describedPrivateIp;
    return address ? { do: 'connect', address } : { do: 'fail', message: `${who} has no private IPv4 address published or reported by EC2` };
  }
  const published = seen.publicIp;
  if (!state.fresh) {
    if (published) return { do: 'connect', address: published.value };
    // Running with no published address: the function has not caught up yet (someone else
    // started it), or the instance has no public IPv4 at all.
    if (seen.describedPublicIp === undefined) return noPublic(who);
  } else if (published) {
    const { baseline } = state.fresh;
    if (baseline === undefined || published.modified > baseline) return { do: 'connect', address: published.value };
    // Unchanged since before the start, but EC2 reports that same address: an Elastic IP,
    // which the function does not rewrite.
    if (seen.describedPublicIp !== undefined && published.value === seen.describedPublicIp) return { do: 'connect', address: published.value };
  }
  if ((state.runningFor ?? 0) >= state.publishGraceMs) {
    if (seen.describedPublicIp === undefined) return noPublic(who);
    return {
      do: 'connect',
      address: seen.describedPublicIp,
      warning:
        `${state.name}: warning: no new address was published for ${state.instanceId} within ${Math.round(state.publishGraceMs / 1000)} s of it running; ` +
        `using the one EC2 reports. The ec2ip function of stack ${state.stackName} seems not to publish: "ec2ip plan --stack-name ${state.stackName}" shows why`,
    };
  }
  if (!state.patient) return { do: 'fail', message: `${who} is running but its address is not published yet: connect again in a moment, or with --wait` };
  return { do: 'wait', phase: 'address', line: `${state.name}: running; waiting for its new address to be published` };
}

function noPublic(who: string): Step {
  return { do: 'fail', message: `${who} has no public IPv4 address: connect with --private (VPN, Direct Connect, a peered VPC), --via ssm or --via eice` };
}

/** Parses `--wait`: seconds, or a number with s, m or h (`90`, `90s`, `5m`); ms. Undefined for anything else. */
export function parseDuration(value: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(value.trim());
  if (!match) return undefined;
  const n = Number(match[1]) * (match[2] === 'h' ? 3_600_000 : match[2] === 'm' ? 60_000 : 1000);
  return n > 0 && Number.isFinite(n) ? n : undefined;
}

/** "41 s", "2 min 5 s": for progress lines. */
export function formatSeconds(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
}
