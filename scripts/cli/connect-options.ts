/** The flags of the commands that connect (`proxy`, `ssh`): how to reach the instance and how long to wait. */
import { checkName } from '../../functions/core/names.js';
import { parseDuration } from './connect-plan.js';
import { UsageError } from './errors.js';
import type { Via } from './aws-tunnel.js';

export const CONNECT_OPTIONS = {
  start: { type: 'boolean' },
  wait: { type: 'string' },
  private: { type: 'boolean' },
  via: { type: 'string' },
} as const;

/** Default of --wait: a start plus a slow boot. */
export const DEFAULT_WAIT_MS = 5 * 60_000;

export const CONNECT_HELP = `Options:
  --start         start the instance if it is stopped (StartInstances, once; a stopping
                  one is waited for first), then wait for the address published after
                  the start (never the one from before it stopped) and for the port
  --wait T        wait up to T for the instance, its address and the port, retrying
                  about once a second (90, 90s, 5m; default 5m with --start). Without
                  --start or --wait, anything not ready is an error at once.
  --private       connect to the private IPv4 (VPN, Direct Connect, a peered VPC)
  --via ssm|eice  no address at all: tunnel through Session Manager (aws ssm
                  start-session, document AWS-StartSSHSession; needs the AWS CLI and the
                  Session Manager plugin) or an EC2 Instance Connect Endpoint (aws
                  ec2-instance-connect open-tunnel; AWS CLI v2.12+)`;

export interface ConnectOptions {
  start: boolean;
  private: boolean;
  via: Via | undefined;
  waitMs: number;
  /** Waiting is allowed. */
  patient: boolean;
  /** --wait as given, to pass on in a generated ProxyCommand. */
  wait: string | undefined;
}

export function parseConnectOptions(values: { start?: boolean | undefined; wait?: string | undefined; private?: boolean | undefined; via?: string | undefined }): ConnectOptions {
  const via = values.via;
  if (via !== undefined && via !== 'ssm' && via !== 'eice') throw new UsageError(`--via "${via}" is not a tunnel: use ssm (Session Manager) or eice (EC2 Instance Connect Endpoint)`);
  if (via !== undefined && values.private) throw new UsageError('--private and --via are two different ways in: give one of them');
  let waitMs = DEFAULT_WAIT_MS;
  if (values.wait !== undefined) {
    const parsed = parseDuration(values.wait);
    if (parsed === undefined) throw new UsageError(`--wait "${values.wait}" is not a duration: give seconds (90), or 90s, 5m, 1h`);
    waitMs = parsed;
  }
  return { start: values.start ?? false, private: values.private ?? false, via, waitMs, patient: (values.start ?? false) || values.wait !== undefined, wait: values.wait };
}

/** The instance name argument, checked as ec2ip checks tags. */
export function parseName(value: string | undefined, usage: string): string {
  if (!value) throw new UsageError(`give the instance name: ${usage}`);
  const check = checkName(value, []);
  if (!check.ok) throw new UsageError(check.reason.replace('the ec2ip:name tag', 'the name'));
  return check.name;
}
