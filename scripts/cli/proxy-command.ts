/**
 * The command line that runs `ec2ip proxy` from an SSH client: OpenSSH's `ProxyCommand` and
 * PuTTY's local proxy command (`ProxyTelnetCommand`). Pure: the caller says which ec2ip runs
 * and on what platform.
 */
import { resolve as resolvePath } from 'node:path';
import { UsageError } from './errors.js';

/** How this ec2ip is started again: the program and the arguments before the command name. */
export interface SelfCommand {
  program: string;
  args: string[];
}

/**
 * This ec2ip as a command: the single-file executable's own path when it runs as one
 * (process.execPath is then ec2ip itself), else Node and the script (an npm install, a
 * checkout). Both are absolute, so the command works from any directory and PATH.
 */
export function selfCommand({ execPath, script, isSea }: { execPath: string; script: string | undefined; isSea: boolean }): SelfCommand {
  if (isSea || !script) return { program: execPath, args: [] };
  return { program: execPath, args: [script] };
}

/** True when running as a Node single executable application (node:sea; missing before Node 20.16 means no). */
export function runningAsSea(): boolean {
  const getBuiltin = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  const sea = getBuiltin?.('node:sea') as { isSea(): boolean } | undefined;
  return sea?.isSea() ?? false;
}

/** Where the shell of each client runs the command: a POSIX `sh -c` (Linux, macOS) or Windows' CreateProcess. */
export type Platform = 'posix' | 'win32';

// Inside double quotes a POSIX shell still expands `$`, `` ` `` and `\`; `"` would end the
// quote; `%` is a token for both OpenSSH and PuTTY. Control characters (a newline above all)
// would end the config line. None of these is escaped: a path holding one is refused.
const UNSAFE_POSIX = /["$`\\%\u0000-\u001f\u007f]/;
const UNSAFE_WIN32 = /["%\u0000-\u001f\u007f]/;

/** One word of the command, double-quoted when it holds a space; throws UsageError for one no quoting keeps safe. */
export function commandWord(word: string, platform: Platform, what = 'the path of ec2ip'): string {
  const unsafe = platform === 'win32' ? UNSAFE_WIN32 : UNSAFE_POSIX;
  const bad = unsafe.exec(word);
  if (word === '' || bad) {
    const shown = bad ? JSON.stringify(bad[0]) : 'nothing';
    throw new UsageError(
      `${what} (${JSON.stringify(word)}) holds ${shown}, which an ssh config line cannot carry safely: ` +
        'install ec2ip in a folder whose path has no quotes, $, `, \\, % or control characters (spaces are fine)',
    );
  }
  return /[\s'&|;<>()*?[\]{}~#!^]/.test(word) ? `"${word}"` : word;
}

/** The flags after `proxy NAME PORT` that a generated config passes on. */
export interface ProxyFlags {
  start?: boolean;
  via?: 'ssm' | 'eice' | undefined;
  private?: boolean;
  wait?: string | undefined;
  region?: string | undefined;
  profile?: string | undefined;
  prefix?: string | undefined;
  stackName?: string | undefined;
}

/** The flag words, each checked to need no quoting (region, profile and prefix come from the user). */
export function proxyFlags(flags: ProxyFlags): string[] {
  const words: string[] = [];
  if (flags.start) words.push('--start');
  if (flags.wait !== undefined) words.push('--wait', flags.wait);
  if (flags.private) words.push('--private');
  if (flags.via) words.push('--via', flags.via);
  for (const [flag, value] of [['--region', flags.region], ['--profile', flags.profile], ['--prefix', flags.prefix], ['--stack-name', flags.stackName]] as const) {
    if (value === undefined) continue;
    if (!/^[A-Za-z0-9._/+@:=-]+$/.test(value)) throw new UsageError(`${flag} "${value}" cannot go into a ProxyCommand: use letters, digits and . _ / + @ : = -`);
    words.push(flag, value);
  }
  return words;
}

/**
 * OpenSSH's `ProxyCommand` value: `"<ec2ip>" proxy %n %p <flags>`. ssh takes the rest of the
 * line verbatim, expands its `%` tokens and hands it to `$SHELL -c` (on Windows to
 * CreateProcess), where the double quotes keep a path with spaces one word.
 */
export function opensshProxyCommand(self: SelfCommand, flags: ProxyFlags, platform: Platform): string {
  return [commandWord(self.program, platform), ...self.args.map((a) => commandWord(a, platform, 'the path of the ec2ip script')), 'proxy', '%n', '%p', ...proxyFlags(flags)].join(' ');
}

/**
 * PuTTY's local proxy command (`ProxyTelnetCommand` with `ProxyMethod=5`): `%host` and
 * `%port` expand there, and PuTTY reads `\` as an escape, so a Windows path's backslashes
 * are doubled.
 */
export function puttyProxyCommand(self: SelfCommand, flags: ProxyFlags, platform: Platform): string {
  const words = [commandWord(self.program, platform), ...self.args.map((a) => commandWord(a, platform, 'the path of the ec2ip script'))];
  return [...words.map((w) => w.replace(/\\/g, '\\\\')), 'proxy', '%host', '%port', ...proxyFlags(flags)].join(' ');
}

/**
 * The proxy command the config writers (`ssh-config --proxy`, `putty --proxy`) put in each
 * block or session: this ec2ip, the connect flags given, and the settings it resolved (so the
 * proxy never needs to read the stack), in the client's own syntax.
 */
export function configProxyCommand(
  client: 'openssh' | 'putty',
  connect: Pick<ProxyFlags, 'start' | 'wait' | 'private' | 'via'>,
  settings: { region: string; prefix: string; profile: string | undefined; stackName: string | undefined },
): string {
  const flags: ProxyFlags = { start: connect.start ?? false, wait: connect.wait, private: connect.private ?? false, via: connect.via, ...settings };
  return (client === 'openssh' ? opensshProxyCommand : puttyProxyCommand)(thisEc2ip(), flags, currentPlatform());
}

/** The running ec2ip as a command (see selfCommand). */
export function thisEc2ip(): SelfCommand {
  const script = process.argv[1];
  return selfCommand({ execPath: process.execPath, script: script ? resolvePath(script) : undefined, isSea: runningAsSea() });
}

/** How this machine's SSH clients run a proxy command. */
export function currentPlatform(): Platform {
  return process.platform === 'win32' ? 'win32' : 'posix';
}
