/**
 * `ec2ip ssh-config`: OpenSSH `Host` blocks for the published instances, with
 * `HostKeyAlias <instance-id>` so a host key stays known while the address changes.
 */
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { loadContext } from '../cli/context.js';
import { CliError, EXIT, UsageError } from '../cli/errors.js';
import { knownHostsWanted, mergeKeyFile } from '../cli/host-key-files.js';
import { KNOWN_HOSTS } from '../cli/host-keys.js';
import type { Hostnames } from '../cli/hostnames.js';
import type { Io } from '../cli/io.js';
import { verifiedKeysOf } from '../cli/verified-keys.js';
import { CONNECT_OPTIONS, parseConnectOptions } from '../cli/connect-options.js';
import { COMMON_HELP, parse, parsePath, parsePort, parseUser } from '../cli/options.js';
import { configProxyCommand } from '../cli/proxy-command.js';
import type { Published } from '../cli/published.js';
import { loadSshTargets, parsePrefer, sshTargets, type SshTarget } from '../cli/ssh-targets.js';
import { refuseLink, refuseSshConfig, resolvedPath, writeFileIfChanged } from '../cli/write-file.js';

export const HELP = `Usage: ec2ip ssh-config [--user USER] [--identity-file FILE] [--port N] [--output FILE]
                        [--known-hosts FILE [--replace]] [--prefer ipv6|ipv4]
                        [--proxy [--start] [--wait T] [--private | --via ssm|eice]]

Prints a "Host <name>" block for every published instance, for OpenSSH and VS Code
Remote-SSH. HostName is the instance's stable hostname when a zone is configured
and ec2ip holds the name there (the public zone's, else the private zone's), else
its current public IPv4, else its IPv6 address (an instance without a public IPv4
is reachable there), else its private IP (with a note: reachable only from inside
its network). "HostKeyAlias <instance-id>" makes ssh file the host key under the
instance id, so known_hosts keeps matching when the address changes.

Options:
  --user USER            add "User USER" to every block
  --identity-file FILE   add "IdentityFile FILE" to every block
  --output FILE          own FILE: write the blocks there (mode 0600, atomically, only
                         when they changed) instead of stdout, and print the
                         Include line to put at the top of ~/.ssh/config. FILE must
                         be new or written by ec2ip before; ~/.ssh/config itself is
                         never edited.
  --port N               add "Port N" to every block (sshd listening elsewhere than 22)
  --prefer ipv6|ipv4     HostName: that family's address before the hostname (ipv6 for
                         an IPv6-only network; ipv4 to skip a name not resolving yet)
  --known-hosts FILE     verified host keys: merge each instance's host keys (recorded
                         by the function at first boot, else its console output)
                         into FILE under its instance id (as "ec2ip known-hosts
                         --output FILE" does) and add "UserKnownHostsFile FILE" to
                         every block, so the first connection is checked, not
                         confirmed by hand. A changed key is reported, kept, exit 1.
  --replace              with --known-hosts: replace a recorded key that differs
  --proxy                add "ProxyCommand <this ec2ip> proxy %n %p": ssh resolves the
                         instance when it connects (never a stale HostName), and with
                         --start a stopped instance is started and waited for. --wait,
                         --private and --via are passed on (see "ec2ip proxy --help").

${COMMON_HELP}
`;

/** The start of the first line of every file ec2ip owns. */
export const MANAGED_MARK = '# Managed by ec2ip';

/** The exact first line of the file `--output` writes; an existing file with another first line is not replaced. */
export const OUTPUT_FIRST_LINE = `${MANAGED_MARK} (ec2ip ssh-config --output): every run rewrites this file, so edits here are lost.`;

/** True when `text` is a file ec2ip ssh-config wrote: its first line is exactly ec2ip's. */
export function isOwnConfig(text: string): boolean {
  return text.split('\n', 1)[0] === OUTPUT_FIRST_LINE;
}

export async function sshConfig(args: string[], io: Io): Promise<number> {
  const { values } = parse(args, {
    user: { type: 'string' },
    'identity-file': { type: 'string' },
    port: { type: 'string' },
    output: { type: 'string' },
    'known-hosts': { type: 'string' },
    replace: { type: 'boolean' },
    prefer: { type: 'string' },
    proxy: { type: 'boolean' },
    ...CONNECT_OPTIONS,
  });
  if (values.help) {
    io.stdout(HELP);
    return EXIT.ok;
  }
  const user = parseUser(values.user);
  const identity = parsePath(values['identity-file'], '--identity-file', { quotes: false });
  const port = parsePort(values.port);
  const prefer = parsePrefer(values.prefer);
  parsePath(values.output, '--output', { quotes: false });
  parsePath(values['known-hosts'], '--known-hosts', { quotes: false });
  if (values.replace && values['known-hosts'] === undefined) throw new UsageError('--replace goes with --known-hosts FILE');
  const connect = parseConnectOptions(values);
  if (!values.proxy && (connect.start || connect.wait !== undefined || connect.private || connect.via)) throw new UsageError('--start, --wait, --private and --via go with --proxy');
  // A quoted "~/..." reaches us unexpanded; expand it as the shell would have.
  const home = io.env.HOME ?? homedir();
  const expand = (path: string | undefined) => (path === undefined ? undefined : resolve(io.cwd, path.replace(/^~(?=\/|$)/, home)));
  const output = expand(values.output);
  const knownHostsFile = expand(values['known-hosts']);
  // Compared with every symlinked folder resolved: DIR/config through a link to ~/.ssh is ~/.ssh/config.
  if (output) await refuseSshConfig(output, '--output', home);
  if (knownHostsFile) await refuseSshConfig(knownHostsFile, '--known-hosts', home);
  if (knownHostsFile !== undefined && output !== undefined && (knownHostsFile === output || (await resolvedPath(knownHostsFile)) === (await resolvedPath(output)))) {
    throw new UsageError('--known-hosts and --output must be two different files: key lines in the ssh config would break it');
  }
  // A link is refused before any AWS call, so nothing is half-done.
  for (const path of [output, knownHostsFile]) if (path) await refuseLink(path);

  const ctx = await loadContext(values, io);
  const targets = await loadSshTargets(ctx, io, prefer);
  const proxyCommand = values.proxy
    ? configProxyCommand('openssh', connect, { region: ctx.config.region, prefix: ctx.config.prefix, profile: values.profile, stackName: values['stack-name'] })
    : undefined;
  const blocks = targets.map((t) => hostBlock(t, { user, identityFile: identity, port, knownHostsFile, proxyCommand }));
  // Read before anything is written: a refused GetConsoleOutput leaves both files as they were.
  const verified = knownHostsFile ? await verifiedKeysOf(ctx, targets, io) : undefined;
  const keys = verified?.keys;

  const include = output && `Include ${/\s/.test(output) ? `"${output}"` : output}`;
  const header = include
    ? `${OUTPUT_FIRST_LINE}\n` +
      `# Use it from the top of ~/.ssh/config with:  ${include}\n`
    : '# Generated by ec2ip ssh-config.\n';
  const content = [header, ...blocks].join('\n');
  if (output && include) {
    const outcome = await writeFileIfChanged(output, content, { mode: 0o600, mayReplace: isOwnConfig });
    if (outcome === 'refused') {
      throw new CliError(`${output} exists and was not written by ec2ip; not replacing it (--output owns the whole file: choose a new file, e.g. ~/.ssh/ec2ip.conf)`, EXIT.usage);
    }
    io.stderr(
      `${outcome === 'written' ? `wrote ${blocks.length} hosts to ${output}` : `${output} is up to date (${blocks.length} hosts); not rewritten`}\n` +
        'Add this line once at the top of ~/.ssh/config, before any Host or Match block (ec2ip never edits that file):\n' +
        `${include}\n`,
    );
  } else {
    io.stdout(content);
  }
  if (!knownHostsFile || !keys) return EXIT.ok;
  const { changedKept } = await mergeKeyFile(knownHostsFile, knownHostsWanted(targets, keys), KNOWN_HOSTS, { replace: values.replace ?? false, io, flagHint: '`--replace`' });
  return changedKept > 0 || (verified?.disagreements ?? 0) > 0 ? EXIT.failed : EXIT.ok;
}

export interface HostOptions {
  user?: string | undefined;
  identityFile?: string | undefined;
  port?: number | undefined;
  knownHostsFile?: string | undefined;
  /** `ProxyCommand` (`ec2ip proxy …`), already quoted for the config line. */
  proxyCommand?: string | undefined;
}

/** `Host` blocks sorted by name; entries that cannot make a safe block are skipped with the reason. */
export function renderHosts(
  published: readonly Published[],
  hostnames: (name: string, instanceId: string) => Hostnames,
  options: HostOptions = {},
): { blocks: string[]; skipped: string[] } {
  const { targets, skipped } = sshTargets(published, hostnames);
  return { blocks: targets.map((t) => hostBlock(t, options)), skipped };
}

/** One instance's `Host` block. */
export function hostBlock(target: SshTarget, options: HostOptions = {}): string {
  const lines = [`Host ${target.name}`, `  HostName ${target.hostName}`, `  HostKeyAlias ${target.instanceId}`];
  if (options.port !== undefined && options.port !== 22) lines.push(`  Port ${options.port}`);
  if (options.user) lines.push(`  User ${options.user}`);
  if (options.identityFile) lines.push(`  IdentityFile ${quoted(options.identityFile)}`);
  if (options.knownHostsFile) lines.push(`  UserKnownHostsFile ${quoted(options.knownHostsFile)}`);
  if (options.proxyCommand) lines.push(`  ProxyCommand ${options.proxyCommand}`);
  return `${lines.join('\n')}\n`;
}

function quoted(path: string): string {
  return /\s/.test(path) ? `"${path}"` : path;
}
