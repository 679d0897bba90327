/**
 * `ec2ip known-hosts`: each published instance's SSH host keys, taken from what the instance
 * printed on its console at boot, filed under its instance id for `HostKeyAlias`.
 */
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { loadContext } from '../cli/context.js';
import { EXIT, UsageError } from '../cli/errors.js';
import { consoleKeysOf, knownHostsWanted, mergeKeyFile } from '../cli/host-key-files.js';
import { KNOWN_HOSTS } from '../cli/host-keys.js';
import type { Io } from '../cli/io.js';
import { COMMON_HELP, parse, parsePath } from '../cli/options.js';
import { readPublished } from '../cli/published.js';
import { isInstanceId } from '../cli/ssh-targets.js';
import { readOwnFile, refuseSshConfig } from '../cli/write-file.js';
import { isOwnConfig } from './ssh-config.js';

export const HELP = `Usage: ec2ip known-hosts [--output FILE] [--replace]

Reads each published instance's SSH host keys from its console output (EC2
GetConsoleOutput: cloud-init prints them at boot between "-----BEGIN SSH HOST KEY
KEYS-----" and "-----END SSH HOST KEY KEYS-----") and files them under the instance
id, the name "ec2ip ssh-config" gives ssh as HostKeyAlias. The first "ssh web" is
then verified instead of asking you to type "yes". An instance whose console shows
no keys yet is reported and skipped, never guessed.

Needs ec2:GetConsoleOutput for your credentials (the Lambda does not need it).

Options:
  --output FILE   merge the keys into FILE (e.g. ~/.ssh/known_hosts, or the file
                  given to "ec2ip ssh-config --known-hosts"): lines about other hosts
                  stay as they are, missing keys are added, and a key that differs
                  from the one recorded for the instance is reported and kept
                  (exit 1). Without --output the lines go to stdout.
  --replace       replace a recorded key that differs (after you have checked why)

${COMMON_HELP}
`;

export async function knownHosts(args: string[], io: Io): Promise<number> {
  const { values } = parse(args, { output: { type: 'string' }, replace: { type: 'boolean' } });
  if (values.help) {
    io.stdout(HELP);
    return EXIT.ok;
  }
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
  const targets = published.flatMap((p) => (isInstanceId(p.instanceId) ? [{ name: p.name, instanceId: p.instanceId }] : []));
  for (const p of published) if (!isInstanceId(p.instanceId)) io.stderr(`skipped ${p.name}: no valid instance-id parameter\n`);
  const keys = await consoleKeysOf(ctx, targets, io);
  const wanted = knownHostsWanted(targets, keys);

  if (!output) {
    io.stdout(wanted.flatMap((w) => w.entries.map((e) => `${KNOWN_HOSTS.render(e, w.target.name)}\n`)).join(''));
    return EXIT.ok;
  }
  const { changedKept } = await mergeKeyFile(output, wanted, KNOWN_HOSTS, { replace: values.replace ?? false, io, flagHint: '`ec2ip known-hosts --replace`' });
  return changedKept > 0 ? EXIT.failed : EXIT.ok;
}
