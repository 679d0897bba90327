/**
 * Host keys of an instance that booted long ago, read from its key files through Systems
 * Manager Run Command (`AWS-RunShellScript`, SendCommand then GetCommandInvocation), and
 * recorded under `<prefix>/<name>/host-keys` the way the function records console keys. The
 * user's explicit choice (`ec2ip known-hosts --via ssm NAME…`), never automatic.
 */
import { GetCommandInvocationCommand, PutParameterCommand, SendCommandCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { getParameters } from '../../functions/adapters/ssm.js';
import { fingerprint, formatHostKeyRecord, HOST_KEYS_COMMANDS, parseHostKeyRecord, parseRunCommandKeys, sameKeys, type HostKey } from '../../functions/core/host-keys.js';
import { explainAwsError, isAccessDenied } from './aws-errors.js';
import { CliError, EXIT } from './errors.js';
import type { KeyTarget } from './host-key-files.js';
import { hostKeysParameter } from './verified-keys.js';

/** GetCommandInvocation statuses after which nothing changes. */
const TERMINAL = new Set(['Success', 'Failed', 'Cancelled', 'TimedOut']);

export interface RunCommandTiming {
  /** Between two GetCommandInvocation calls. */
  pollMs: number;
  /** How long to wait for the command in all. */
  timeoutMs: number;
}

/** The keys in the instance's /etc/ssh/ssh_host_*_key.pub, parsed strictly; throws a CliError saying what to do. */
export async function readKeysViaRunCommand(ssm: SSMClient, target: KeyTarget, timing: RunCommandTiming): Promise<HostKey[]> {
  const who = `${target.name} (${target.instanceId})`;
  let commandId: string | undefined;
  try {
    const sent = await ssm.send(
      new SendCommandCommand({
        InstanceIds: [target.instanceId],
        DocumentName: 'AWS-RunShellScript',
        Comment: 'ec2ip known-hosts --via ssm: print the public SSH host keys',
        TimeoutSeconds: 60,
        Parameters: { commands: HOST_KEYS_COMMANDS },
      }),
    );
    commandId = sent.Command?.CommandId;
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name === 'InvalidInstanceId') {
      throw new CliError(
        `${who} is not a node Systems Manager can run commands on: Run Command needs the SSM agent running on the instance and an instance profile that lets it register ` +
          '(e.g. one with the AmazonSSMManagedInstanceCore policy). Attach such a profile, wait until `aws ssm describe-instance-information` lists the instance, and try again; ' +
          'or copy /etc/ssh/ssh_host_*_key.pub from the instance yourself',
        EXIT.failed,
        { cause: error },
      );
    }
    if (isAccessDenied(error)) throw new CliError(`access denied running a command on ${who}: --via ssm needs ssm:SendCommand on the document AWS-RunShellScript and on the instance, and ssm:GetCommandInvocation`, EXIT.failed, { cause: error });
    throw explainAwsError(error, `sending the Run Command that reads the host keys of ${who}`);
  }
  if (!commandId) throw new CliError(`SendCommand for ${who} answered without a command id`, EXIT.failed);

  const until = Date.now() + timing.timeoutMs;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, timing.pollMs));
    let invocation;
    try {
      invocation = await ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: target.instanceId }));
    } catch (error) {
      // Right after SendCommand the invocation may not exist yet.
      if ((error as { name?: string }).name !== 'InvocationDoesNotExist') throw explainAwsError(error, `reading the Run Command ${commandId} on ${who}`);
    }
    const status = invocation?.Status;
    if (status && TERMINAL.has(status)) {
      if (status !== 'Success') {
        const detail = [invocation?.StatusDetails, invocation?.StandardErrorContent?.trim().split('\n')[0]].filter(Boolean).join(': ');
        throw new CliError(`the Run Command ${commandId} that reads the host keys of ${who} ended ${status}${detail ? ` (${detail})` : ''}; nothing recorded`, EXIT.failed);
      }
      const parsed = parseRunCommandKeys(invocation?.StandardOutputContent ?? '');
      if ('invalid' in parsed) throw new CliError(`refused the host keys ${who} printed through Run Command ${commandId}: ${parsed.invalid}; nothing recorded`, EXIT.failed);
      return parsed.keys;
    }
    if (Date.now() > until) throw new CliError(`the Run Command ${commandId} on ${who} did not finish within ${Math.round(timing.timeoutMs / 1000)} s (status ${status ?? 'unknown'}); nothing recorded`, EXIT.failed);
  }
}

/** What recording did. */
export type RecordOutcome = 'recorded' | 'unchanged' | 'disagrees';

/**
 * Records `keys` for the target in its `host-keys` parameter: created when absent, replacing a
 * record that holds no keys, another instance's, or an invalid one. A record of this instance
 * with other keys is kept and reported loudly (`disagrees`). The caller has checked that the
 * name's `instance-id` parameter names the target.
 */
export async function recordKeys(ssm: SSMClient, prefix: string, target: KeyTarget, keys: HostKey[], stderr: (text: string) => void): Promise<RecordOutcome> {
  const parameter = hostKeysParameter(prefix, target.name);
  const who = `${target.name} (${target.instanceId})`;
  const shown = keys.map((k) => `${k.type} ${fingerprint(k)}`).join(', ');
  const value = formatHostKeyRecord({ instance: target.instanceId, source: 'ssm', recordedAt: new Date().toISOString(), keys });
  if (value === undefined) throw new CliError(`the host keys of ${who} do not fit a 4 KB parameter; nothing recorded`, EXIT.failed);
  try {
    const current = (await getParameters(ssm, [parameter])).get(parameter);
    const parsed = current === undefined ? undefined : parseHostKeyRecord(current);
    const mine = parsed && 'record' in parsed && parsed.record.instance === target.instanceId && parsed.record.keys.length > 0 ? parsed.record : undefined;
    if (mine && sameKeys(mine.keys, keys)) {
      stderr(`the host keys of ${who} read through Run Command match ${parameter}: ${shown}\n`);
      return 'unchanged';
    }
    if (mine) {
      stderr(
        `WARNING: HOST KEYS DISAGREE for ${who}: its key files show ${shown}, but ${parameter} records ${mine.keys.map((k) => `${k.type} ${fingerprint(k)}`).join(', ')} (from ${mine.source}, ${mine.recordedAt}). ` +
          `Not stored; the recorded keys stay. If the keys were regenerated on purpose, delete ${parameter} and run this again; otherwise do not connect: someone may be impersonating it.\n`,
      );
      return 'disagrees';
    }
    await ssm.send(new PutParameterCommand({ Name: parameter, Value: value, Type: 'String', Overwrite: current !== undefined, Description: 'Managed by ec2ip' }));
  } catch (error) {
    throw explainAwsError(error, `recording the host keys of ${who} in ${parameter}`);
  }
  stderr(`recorded the host keys of ${who} in ${parameter}, read from its key files through Run Command: ${shown}\n`);
  return 'recorded';
}
