/**
 * `ec2ip ssh NAME [-- ssh args]`: the system's ssh with what `ssh-config --proxy` would write
 * (HostKeyAlias = instance id, the verified known-hosts file, `ec2ip proxy` as ProxyCommand),
 * no config file needed. Ends with ssh's exit status. Host-key checking stays as the user's
 * ssh has it: nothing here turns it down.
 */
import { spawn } from 'node:child_process';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { loadConnectContext } from '../cli/connect-context.js';
import { publishedInstance } from '../cli/connect-on-demand.js';
import { CONNECT_HELP, CONNECT_OPTIONS, parseConnectOptions, parseName } from '../cli/connect-options.js';
import { verifiedKeysOf } from '../cli/verified-keys.js';
import { CliError, EXIT, UsageError } from '../cli/errors.js';
import { knownHostsWanted, mergeKeyFile } from '../cli/host-key-files.js';
import { KNOWN_HOSTS } from '../cli/host-keys.js';
import type { Io } from '../cli/io.js';
import { COMMON_HELP, parse, parsePort, parseUser } from '../cli/options.js';
import { currentPlatform, opensshProxyCommand, thisEc2ip } from '../cli/proxy-command.js';
import { findOnPath } from '../cli/which.js';

export const HELP = `Usage: ec2ip ssh NAME [--start] [--wait T] [--private | --via ssm|eice]
                 [--user USER] [--identity-file FILE] [--port N] [--known-hosts FILE]
                 [-- SSH ARGUMENTS…]

Runs your ssh to the instance published as NAME, through "ec2ip proxy" (so a
stopped instance is started with --start, and the address is the current one),
with HostKeyAlias = its instance id and its verified host keys (recorded by the
function at first boot, else its console output, as "ec2ip known-hosts" does) in
the known-hosts file. Everything
after "--" goes to ssh (a command, -L forwards, -v). Exits with ssh's status.

${CONNECT_HELP}
  --user USER            log in as USER (ssh -l)
  --identity-file FILE   the private key (ssh -i)
  --port N               sshd's port (default 22, or your ssh config's)
  --known-hosts FILE     the verified known-hosts file (default ~/.ssh/ec2ip_known_hosts,
                         the file "ec2ip ssh-config --known-hosts" writes)

${COMMON_HELP}
`;

export async function ssh(args: string[], io: Io): Promise<number> {
  const split = args.indexOf('--');
  const own = split < 0 ? args : args.slice(0, split);
  const passed = split < 0 ? [] : args.slice(split + 1);
  const { values, positionals } = parse(own, { ...CONNECT_OPTIONS, user: { type: 'string' }, 'identity-file': { type: 'string' }, port: { type: 'string' }, 'known-hosts': { type: 'string' } }, 1);
  if (values.help) {
    io.stdout(HELP);
    return EXIT.ok;
  }
  const name = parseName(positionals[0], 'ec2ip ssh NAME [-- ssh arguments]');
  const connect = parseConnectOptions(values);
  const user = parseUser(values.user);
  const port = values.port === undefined ? undefined : parsePort(values.port);
  const home = io.env.HOME ?? homedir();
  const local = (path: string) => resolve(io.cwd, path.replace(/^~(?=[/\\]|$)/, home));
  const knownHosts = local(values['known-hosts'] ?? '~/.ssh/ec2ip_known_hosts');
  for (const [flag, value] of [['--known-hosts', knownHosts], ['--identity-file', values['identity-file']]] as const) {
    if (value !== undefined && (value.trim() === '' || /["\r\n\0]/.test(value))) throw new UsageError(`${flag} needs a file name without quotes or line breaks`);
  }
  const program = findOnPath('ssh', io.env);
  if (!program) throw new CliError('ssh is not on PATH: install OpenSSH\'s client (Debian/Ubuntu: apt-get install openssh-client; Windows: the "OpenSSH Client" optional feature)', EXIT.failed);
  const platform = currentPlatform();
  const ctx = await loadConnectContext(values, io);
  const proxyCommand = opensshProxyCommand(
    thisEc2ip(),
    { start: connect.start, wait: connect.wait, private: connect.private, via: connect.via, region: ctx.region, profile: ctx.profile, prefix: ctx.prefix, stackName: values['stack-name'] },
    platform,
  );
  const { instanceId } = await publishedInstance(ctx, name);

  // The instance's own keys, from AWS rather than from the network, before the first connection:
  // recorded at first boot (or by known-hosts --via ssm) first, its console second.
  const target = { name, instanceId };
  const verified = await verifiedKeysOf({ clients: { ssm: ctx.ssm, ec2: ctx.ec2 }, config: { prefix: ctx.prefix } }, [target], io);
  if (verified.disagreements > 0) throw new CliError(`not connecting to ${name} (${instanceId}): its console shows other host keys than the recorded ones (see the warning above)`, EXIT.failed);
  const keys = verified.keys.get(instanceId);
  if (keys) {
    const { changedKept } = await mergeKeyFile(knownHosts, knownHostsWanted([target], new Map([[instanceId, keys]])), KNOWN_HOSTS, {
      replace: false,
      io,
      flagHint: '`ec2ip known-hosts --output FILE --replace`',
    });
    if (changedKept > 0) throw new CliError(`not connecting to ${name} (${instanceId}): its host key differs from the one recorded in ${knownHosts}`, EXIT.failed);
  }

  const quote = (path: string) => (/\s/.test(path) ? `"${path}"` : path);
  const sshArgs = [
    '-o', `HostKeyAlias=${instanceId}`,
    '-o', `UserKnownHostsFile=${quote(knownHosts)}`,
    '-o', `ProxyCommand=${proxyCommand}`,
    ...(port !== undefined ? ['-p', String(port)] : []),
    ...(user ? ['-l', user] : []),
    ...(values['identity-file'] ? ['-i', local(values['identity-file'])] : []),
    name,
    ...passed,
  ];
  return new Promise((done, fail) => {
    const child = spawn(program, sshArgs, { stdio: 'inherit', env: io.env as NodeJS.ProcessEnv });
    child.once('error', (error) => fail(new CliError(`could not run ${program}: ${error.message}`, EXIT.failed, { cause: error })));
    child.once('exit', (code, signal) => done(code ?? (signal ? 128 : EXIT.failed)));
  });
}
