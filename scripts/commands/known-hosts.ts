/**
 * `ec2ip known-hosts`: each published instance's verified SSH host keys (recorded by the
 * function at first boot, else its console output), filed under its instance id for
 * `HostKeyAlias`. `--via ssm NAME…` first reads and records the keys of instances that booted
 * long ago, through Run Command.
 */
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { loadContext } from '../cli/context.js';
import { CliError, EXIT, UsageError } from '../cli/errors.js';
import { knownHostsWanted, mergeKeyFile, type KeyTarget } from '../cli/host-key-files.js';
import { KNOWN_HOSTS } from '../cli/host-keys.js';
import type { Io } from '../cli/io.js';
import { COMMON_HELP, parse, parsePath } from '../cli/options.js';
import { readPublished } from '../cli/published.js';
import { readKeysViaRunCommand, recordKeys } from '../cli/run-command-keys.js';
import { isInstanceId } from '../cli/ssh-targets.js';
import { readOwnFile, refuseSshConfig } from '../cli/write-file.js';
import { isOwnConfig } from './ssh-config.js';
import { verifiedKeysOf } from '../cli/verified-keys.js';

export const HELP = `Usage: ec2ip known-hosts [--output FILE] [--replace] [--via ssm NAME...]

Files each published instance's SSH host keys under its instance id, the name
"ec2ip ssh-config" gives ssh as HostKeyAlias, so the first "ssh web" is verified
instead of asking you to type "yes". The keys come from, in this order:
  1. <prefix>/<name>/host-keys: what the function read from the instance's console
     at its first boot (cloud-init prints the keys between "-----BEGIN SSH HOST KEY
     KEYS-----" and "-----END SSH HOST KEY KEYS-----" at the first boot only), or
     what --via ssm read;
  2. the console output now (EC2 GetConsoleOutput), for an instance in its first
     hour that the function has not recorded yet.
Each instance's source is reported; a console that disagrees with the record is a
WARNING (exit 1). An instance without keys is reported and skipped, never guessed.

Options:
  --output FILE   merge the keys into FILE (e.g. ~/.ssh/known_hosts, or the file
                  given to "ec2ip ssh-config --known-hosts"): lines about other hosts
                  stay as they are, missing keys are added, and a key that differs
                  from the one recorded for the instance is reported and kept
                  (exit 1). Without --output the lines go to stdout.
  --replace       replace a recorded key that differs (after you have checked why)
  --via ssm NAME...
                  for instances that booted before the function saw them (their
                  console no longer shows the keys): read /etc/ssh/ssh_host_*_key.pub
                  through Systems Manager Run Command (AWS-RunShellScript), record
                  them in <prefix>/<name>/host-keys, then file them. Needs the SSM
                  agent on the instance and an instance profile that allows it
                  (e.g. AmazonSSMManagedInstanceCore), and for you ssm:SendCommand,
                  ssm:GetCommandInvocation and ssm:PutParameter under the prefix.

Needs ec2:GetConsoleOutput for your credentials where no keys are recorded.

${COMMON_HELP}
`;

export async function knownHosts(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, { output: { type: 'string' }, replace: { type: 'boolean' }, via: { type: 'string' } }, 1000);
  if (values.help) {
    io.stdout(HELP);
    return EXIT.ok;
  }
  if (values.via !== undefined && values.via !== 'ssm') throw new UsageError(`--via "${values.via}" is not a way to read host keys: the only one is --via ssm`);
  if (values.via !== undefined && positionals.length === 0) throw new UsageError('--via ssm needs the names of the instances to read, e.g. ec2ip known-hosts --via ssm web');
  if (values.via === undefined && positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}" (names go with --via ssm)`);
  const home = io.env.HOME ?? homedir();
  const given = parsePath(values.output, '--output');
  const output = given === undefined ? undefined : resolve(io.cwd, given.replace(/^~(?=\/|$)/, home));
  if (output) {
    await refuseSshConfig(output, '--output', home);
    // readOwnFile refuses a link; key lines appended to ec2ip's own ssh config would break it.
    if (isOwnConfig((await readOwnFile(output))?.toString('utf8') ?? '')) {
      throw new UsageError(`--output ${output} is the file ec2ip ssh-config --output writes, not a known_hosts file: give the keys a file of their own (e.g. ~/.ssh/ec2ip_known_hosts)`);
    }
  }

  const ctx = await loadContext(values, io, { needs: 'prefix' });
  const published = await readPublished(ctx.clients.ssm, ctx.config.prefix);
  // Only the instance id matters here, not where to connect.
  let targets: KeyTarget[] = published.flatMap((p) => (isInstanceId(p.instanceId) ? [{ name: p.name, instanceId: p.instanceId }] : []));
  let failed = 0;
  if (values.via === 'ssm') {
    const names = [...new Set(positionals.map((n) => n.toLowerCase()))];
    const unknown = names.filter((n) => !targets.some((t) => t.name === n));
    if (unknown.length > 0) throw new CliError(`no published instance named ${unknown.join(', ')} under ${ctx.config.prefix} (its ${ctx.config.prefix}/<name>/instance-id parameter is missing or invalid): see ec2ip list`, EXIT.failed);
    targets = targets.filter((t) => names.includes(t.name));
    // One at a time: each waits for its command, and a refusal names its instance.
    for (const t of targets) {
      try {
        const keys = await readKeysViaRunCommand(ctx.clients.ssm, t, { pollMs: 1000, timeoutMs: 120_000 });
        if ((await recordKeys(ctx.clients.ssm, ctx.config.prefix, t, keys, io.stderr)) === 'disagrees') failed++;
      } catch (error) {
        if (!(error instanceof CliError)) throw error;
        io.stderr(`${error.message}\n`);
        failed++;
      }
    }
  } else {
    for (const p of published) if (!isInstanceId(p.instanceId)) io.stderr(`skipped ${p.name}: no valid instance-id parameter\n`);
  }
  const verified = await verifiedKeysOf(ctx, targets, io);
  const wanted = knownHostsWanted(targets, verified.keys);
  const result = failed > 0 || verified.disagreements > 0 ? EXIT.failed : EXIT.ok;

  if (!output) {
    io.stdout(wanted.flatMap((w) => w.entries.map((e) => `${KNOWN_HOSTS.render(e, w.target.name)}\n`)).join(''));
    return result;
  }
  const { changedKept } = await mergeKeyFile(output, wanted, KNOWN_HOSTS, { replace: values.replace ?? false, io, flagHint: '`ec2ip known-hosts --replace`' });
  return changedKept > 0 ? EXIT.failed : result;
}
