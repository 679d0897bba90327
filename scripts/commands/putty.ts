/**
 * `ec2ip putty`: PuTTY saved sessions for the published instances, with `LogHost` =
 * the instance id (PuTTY's HostKeyAlias) and the host keys each instance printed at boot in
 * PuTTY's host-key cache, as a `.reg` file for Windows or as the files of Unix PuTTY/plink.
 */
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { lstat, mkdir, readFile, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { loadContext } from '../cli/context.js';
import { CliError, EXIT, UsageError } from '../cli/errors.js';
import { mergeKeyFile, mergeWanted, puttyWanted, reportOutcomes, type WantedKeys } from '../cli/host-key-files.js';
import { PUTTY_HOST_KEYS, type HostKey } from '../cli/host-keys.js';
import type { Io } from '../cli/io.js';
import { verifiedKeysOf } from '../cli/verified-keys.js';
import { findOnPath } from '../cli/which.js';
import { CONNECT_OPTIONS, parseConnectOptions } from '../cli/connect-options.js';
import { COMMON_HELP, parse, parsePath, parsePort, parseUser } from '../cli/options.js';
import { configProxyCommand } from '../cli/proxy-command.js';
import {
  decodeReg,
  encodeReg,
  isEc2ipReg,
  parseSessionList,
  regHostKeys,
  regSessions,
  renderReg,
  renderSessionList,
  renderUnixSession,
  SESSION_LIST,
  sessionNameProblem,
  unixLogHost,
  unixName,
  type PuttySession,
} from '../cli/putty-sessions.js';
import { loadSshTargets, parsePrefer, type SshTarget } from '../cli/ssh-targets.js';
import { readOwnFile, refuseLink, writeFileIfChanged } from '../cli/write-file.js';

export const HELP = `Usage: ec2ip putty [--format reg|unix] [--user USER] [--key FILE.ppk | --convert-key FILE.pem]
                  [--port N] [--session-prefix P] [--output FILE|DIR] [--skip-host-keys] [--replace]
                  [--prefer ipv6|ipv4] [--proxy [--start] [--wait T] [--private | --via ssm|eice]]

Writes a PuTTY saved session per published instance, named <prefix><name>
(ec2ip-web), with HostName (the stable hostname, else the public IPv4, else the
IPv6 address, else the private IP, as ssh-config decides), PortNumber, Protocol=ssh, UserName, PublicKeyFile (the .ppk) and
LogHost = the instance id (PuTTY's "Logical name of remote host"): PuTTY files the
host key under that name, so a new IP does not bring up "The host key is not cached"
or "does not match" again. Each
instance's verified host keys (recorded by the function at first boot, else its
console output; see "ec2ip known-hosts --help") go into PuTTY's host-key cache,
so even the first connection is verified.

Options:
  --format reg|unix     reg: a .reg file for HKEY_CURRENT_USER\\Software\\SimonTatham\\PuTTY
                        (import it with "reg import FILE" or a double-click; the default
                        on Windows). unix: the session files of Unix PuTTY and plink
                        (the default elsewhere).
  --user USER           UserName of every session (e.g. ec2-user, ubuntu)
  --key FILE.ppk        the private key PuTTY uses (PublicKeyFile). For a .reg file made
                        on Linux or macOS for a Windows PC, the path on that PC
                        (C:\\Users\\you\\.ssh\\work.ppk).
  --convert-key FILE    convert an OpenSSH/PEM key (the .pem EC2 gave you) to .ppk with
                        puttygen first (FILE.ppk beside it, or --key's path), and use it
  --port N              PortNumber (default 22)
  --prefer ipv6|ipv4    HostName: that family's address before the hostname
  --session-prefix P    prefix of ec2ip's session names (default ec2ip-). Only sessions
                        ec2ip wrote (listed in DIR/ec2ip-sessions; for a .reg, set by
                        the previous file) with it are ever replaced or removed
  --output FILE|DIR     reg: the .reg file to write (UTF-16, as regedit writes; default:
                        the text on stdout). unix: the PuTTY settings folder holding
                        sessions/ and sshhostkeys (default: PuTTY's own, $PUTTYDIR, else
                        $XDG_CONFIG_HOME/putty if it exists, else ~/.putty)
  --skip-host-keys      do not read recorded keys or console output, nor write host keys
  --replace             replace a recorded host key that differs from the instance's
                        (after you have checked why); otherwise it is reported, kept, exit 1
  --proxy               connect through "ec2ip proxy" (ProxyMethod=5, the local proxy
                        command, in ProxyTelnetCommand): the instance is resolved when
                        PuTTY connects, and with --start a stopped one is started and
                        waited for. HostName is then the ec2ip name. --wait, --private and
                        --via are passed on. A .reg file with --proxy must be made on the
                        Windows PC (it names this ec2ip's own path).

${COMMON_HELP}
`;

const DEFAULT_PREFIX = 'ec2ip-';

export async function putty(args: string[], io: Io): Promise<number> {
  const { values } = parse(args, {
    format: { type: 'string' },
    user: { type: 'string' },
    key: { type: 'string' },
    'convert-key': { type: 'string' },
    port: { type: 'string' },
    'session-prefix': { type: 'string' },
    output: { type: 'string' },
    'skip-host-keys': { type: 'boolean' },
    replace: { type: 'boolean' },
    prefer: { type: 'string' },
    proxy: { type: 'boolean' },
    ...CONNECT_OPTIONS,
  });
  if (values.help) {
    io.stdout(HELP);
    return EXIT.ok;
  }
  // Everything the user typed is checked before any AWS call or write.
  const format = values.format ?? (process.platform === 'win32' ? 'reg' : 'unix');
  if (format !== 'reg' && format !== 'unix') throw new UsageError(`--format "${format}" is not a PuTTY store: use reg (a .reg file for Windows) or unix (~/.putty files)`);
  const user = parseUser(values.user);
  const port = parsePort(values.port);
  const prefer = parsePrefer(values.prefer);
  const prefix = values['session-prefix'] ?? DEFAULT_PREFIX;
  if (prefix === '') throw new UsageError('--session-prefix must not be empty: ec2ip recognises its own sessions by it');
  const prefixProblem = sessionNameProblem(`${prefix}x`);
  if (prefixProblem) throw new UsageError(`--session-prefix "${prefix}" cannot start a PuTTY session name: ${prefixProblem}`);
  parsePath(values.output, '--output');
  const home = io.env.HOME ?? homedir();
  const local = (path: string) => resolve(io.cwd, path.replace(/^~(?=[/\\]|$)/, home));
  const windowsTarget = format === 'reg' && process.platform !== 'win32';
  const key = await checkKey(values.key, values['convert-key'], { windowsTarget, local });
  if (values.replace && values['skip-host-keys']) throw new UsageError('--replace is about host keys; it cannot go with --skip-host-keys');
  const connect = parseConnectOptions(values);
  if (!values.proxy && (connect.start || connect.wait !== undefined || connect.private || connect.via)) throw new UsageError('--start, --wait, --private and --via go with --proxy');
  if (values.proxy && windowsTarget) throw new UsageError('--proxy with --format reg names the path of ec2ip on the PC that runs PuTTY: run it on that Windows PC');

  const ctx = await loadContext(values, io);
  const targets = await loadSshTargets(ctx, io, prefer);
  const proxyCommand = values.proxy
    ? configProxyCommand('putty', connect, { region: ctx.config.region, prefix: ctx.config.prefix, profile: values.profile, stackName: values['stack-name'] })
    : undefined;
  const sessions = targets.map((t) => session(t, prefix, { user, port, keyFile: key.sessionPath, proxyCommand }));
  const bad = sessions.flatMap((s) => {
    const problem = sessionNameProblem(s.name);
    return problem ? [`${s.name}: ${problem}`] : [];
  });
  if (bad.length > 0) throw new UsageError(`PuTTY cannot hold these sessions (shorten --session-prefix or the ec2ip:name tag): ${bad.join('; ')}`);
  const verified = values['skip-host-keys'] ? { keys: new Map<string, HostKey[]>(), disagreements: 0 } : await verifiedKeysOf(ctx, targets, io);
  const keys = verified.keys;

  if (key.convert) {
    await convertKey(key.convert.from, key.convert.to, io);
    if (windowsTarget && !key.sessionPath) {
      io.stderr(`the sessions name no key file: copy ${key.convert.to} to the Windows PC and re-run with --key <its path there> (e.g. C:\\Users\\you\\.ssh\\${basename(key.convert.to)})\n`);
    }
  }
  const options = { replace: values.replace ?? false, io };
  const changedKept =
    format === 'reg'
      ? await writeReg(values.output === undefined ? undefined : local(values.output), sessions, puttyWanted(targets, keys), prefix, options)
      : await writeUnix(values.output === undefined ? puttyDir(io.env, home) : local(values.output), sessions, puttyWanted(targets, keys), prefix, options);
  return changedKept > 0 || verified.disagreements > 0 ? EXIT.failed : EXIT.ok;
}

function session(
  target: SshTarget,
  prefix: string,
  { user, port, keyFile, proxyCommand }: { user?: string | undefined; port: number; keyFile?: string | undefined; proxyCommand?: string | undefined },
): PuttySession {
  return {
    name: `${prefix}${target.name}`,
    settings: {
      // Through the proxy, %host is the ec2ip name it resolves (and PuTTY never looks it up).
      HostName: proxyCommand ? target.name : target.hostName,
      PortNumber: port,
      Protocol: 'ssh',
      LogHost: target.instanceId,
      ...(user ? { UserName: user } : {}),
      ...(keyFile ? { PublicKeyFile: keyFile } : {}),
      ...(proxyCommand ? { ProxyMethod: 5, ProxyTelnetCommand: proxyCommand } : {}),
    },
  };
}

interface KeyPlan {
  /** PublicKeyFile as the sessions hold it. */
  sessionPath?: string;
  convert?: { from: string; to: string };
}

/** Checks --key / --convert-key; an unreadable or wrong key file is a usage error, found before anything is written. */
async function checkKey(
  keyFlag: string | undefined,
  convertFlag: string | undefined,
  { windowsTarget, local }: { windowsTarget: boolean; local: (path: string) => string },
): Promise<KeyPlan> {
  for (const [flag, value] of [['--key', keyFlag], ['--convert-key', convertFlag]] as const) parsePath(value, flag, { quotes: false });
  const windowsPath = (path: string) => /^[A-Za-z]:[\\/]|^\\\\/.test(path);
  if (windowsTarget && keyFlag !== undefined && !windowsPath(keyFlag)) {
    throw new UsageError(`--key "${keyFlag}": a .reg file is for a Windows PC, so give the .ppk's path there, e.g. C:\\Users\\you\\.ssh\\work.ppk`);
  }
  if (convertFlag !== undefined) {
    const from = local(convertFlag);
    const head = await readHead(from, '--convert-key');
    if (head.startsWith('PuTTY-User-Key-File-')) throw new UsageError(`--convert-key ${from} is already a PuTTY .ppk key: pass it as --key instead`);
    if (!head.startsWith('-----BEGIN ')) throw new UsageError(`--convert-key ${from} is not an OpenSSH or PEM private key (it does not start with "-----BEGIN ")`);
    const to = keyFlag !== undefined && !windowsTarget ? local(keyFlag) : join(dirname(from), `${basename(from, extname(from))}.ppk`);
    // puttygen follows a link at its -o path: the private key would land wherever it points.
    await refuseLink(to);
    return { sessionPath: windowsTarget ? keyFlag : to, convert: { from, to } };
  }
  if (keyFlag === undefined) return {};
  if (windowsTarget) return { sessionPath: keyFlag };
  const path = local(keyFlag);
  const head = await readHead(path, '--key');
  if (head.startsWith('-----BEGIN ')) throw new UsageError(`--key ${path} is an OpenSSH/PEM key; PuTTY needs a .ppk: use --convert-key ${keyFlag} to convert it`);
  if (!head.startsWith('PuTTY-User-Key-File-')) throw new UsageError(`--key ${path} is not a PuTTY private key (.ppk)`);
  return { sessionPath: path };
}

async function readHead(path: string, flag: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).slice(0, 64);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`${flag} ${path} cannot be read (${code ?? String(error)}): check the path and that it is your file`, { cause: error });
  }
}

/** `puttygen FROM -O private -o TO`, as PuTTYgen's Conversions → Import key → Save private key does. */
async function convertKey(from: string, to: string, io: Io): Promise<void> {
  await refuseLink(to);
  if (await lstat(to).then(() => true, () => false)) {
    io.stderr(`${to} exists; using it as it is (delete it to convert ${from} again)\n`);
    return;
  }
  const puttygen = findOnPath('puttygen', io.env);
  if (!puttygen) {
    throw new CliError(
      `puttygen is not installed, so ${from} cannot be converted here. Install it (Debian/Ubuntu: apt-get install putty-tools; macOS: brew install putty) and re-run, ` +
        `or convert it by hand in PuTTYgen on Windows: Conversions → Import key → choose ${basename(from)} → Save private key → save it as ${basename(to)}; ` +
        `then run ec2ip putty --key ${basename(to)} …`,
      EXIT.failed,
    );
  }
  try {
    await promisify(execFile)(puttygen, [from, '-O', 'private', '-o', to], { timeout: 60_000 });
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr ?? '').trim();
    throw new CliError(`puttygen could not convert ${from}: ${stderr || (error as Error).message} (a key with a passphrase needs PuTTYgen's window, which asks for it)`, EXIT.failed, { cause: error });
  }
  io.stderr(`converted ${from} to ${to}\n`);
}

async function writeReg(
  output: string | undefined,
  sessions: PuttySession[],
  wanted: WantedKeys[],
  prefix: string,
  { replace, io }: { replace: boolean; io: Io },
): Promise<number> {
  // The last file ec2ip wrote is the record of what it set: sessions gone since are deleted,
  // and a host key that changed since is reported as in any other host-key store.
  const bytes = output ? await readOwnFile(output) : undefined;
  const previous = bytes ? decodeReg(bytes) : '';
  if (previous !== '' && !isEc2ipReg(previous)) {
    throw new CliError(`${output} exists and was not written by ec2ip; not replacing it (choose a new file, e.g. ec2ip-putty.reg)`, EXIT.usage);
  }
  const prior = regHostKeys(previous);
  const merged = mergeWanted(prior.length > 0 ? `${prior.join('\n')}\n` : '', wanted, PUTTY_HOST_KEYS, replace);
  const changedKept = reportOutcomes(merged.outcomes, wanted, output ?? 'the .reg file', '`--replace`', io);
  const ourAliases = new Set(wanted.flatMap((w) => w.entries.map((e) => e.alias)));
  const hostKeys = merged.text.split('\n').filter((line) => line !== '' && ourAliases.has(line.slice(line.indexOf('@') + 1, line.indexOf(' '))));
  const text = renderReg(sessions, hostKeys, regSessions(previous, prefix));
  if (!output) {
    io.stdout(text);
    return changedKept;
  }
  const outcome = await writeFileIfChanged(output, encodeReg(text), { mode: 0o600, mayReplace: isEc2ipReg, decode: decodeReg });
  io.stderr(
    `${outcome === 'written' ? `wrote ${sessions.length} PuTTY sessions to ${output}` : `${output} is up to date (${sessions.length} sessions)`}; ` +
      `import it on Windows with:  reg import ${basename(output)}   (or double-click it)\n`,
  );
  return changedKept;
}

async function writeUnix(
  dir: string,
  sessions: PuttySession[],
  wanted: WantedKeys[],
  prefix: string,
  { replace, io }: { replace: boolean; io: Io },
): Promise<number> {
  const sessionsDir = join(dir, 'sessions');
  const listFile = join(dir, SESSION_LIST);
  const hostKeysFile = join(dir, 'sshhostkeys');
  // Every file this run may write is checked first: a link anywhere stops the run before any write.
  for (const path of [sessionsDir, listFile, hostKeysFile, ...sessions.map((s) => join(sessionsDir, unixName(s.name)))]) await refuseLink(path);
  const listText = (await readOwnFile(listFile))?.toString('utf8');
  const listed = parseSessionList(listText);
  if (listText !== undefined && !listed) throw new CliError(`${listFile} exists and was not written by ec2ip; not replacing it (move it away and re-run)`, EXIT.usage);
  const owned = new Set(listed);
  await mkdir(sessionsDir, { recursive: true, mode: 0o700 });
  let written = 0;
  let foreign = 0;
  for (const s of sessions) {
    const stored = unixName(s.name);
    const file = join(sessionsDir, stored);
    const current = (await readOwnFile(file))?.toString('utf8');
    // Only a session ec2ip listed as its own is replaced. Before the list existed, ec2ip's
    // sessions are recognised by their LogHost, the instance id it always set.
    const ours = current === undefined || owned.has(stored) || (!listed && unixLogHost(current) === s.settings.LogHost);
    if (!ours) {
      foreign++;
      io.stderr(`skipped session ${s.name}: ${file} exists and ec2ip did not write it; not replacing it (rename or delete that session, or choose another --session-prefix)\n`);
      continue;
    }
    owned.add(stored);
    if ((await writeFileIfChanged(file, renderUnixSession(s.settings, current), { mode: 0o600 })) === 'written') written++;
  }
  // Only sessions ec2ip listed as its own, with this prefix, are ever removed: the user's stay, whatever their name.
  const names = new Set(sessions.map((s) => unixName(s.name)));
  const stale = [...(listed ?? [])].filter((f) => f.startsWith(unixName(prefix)) && !names.has(f));
  for (const f of stale) {
    await unlink(join(sessionsDir, f)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    owned.delete(f);
  }
  await writeFileIfChanged(listFile, renderSessionList(owned), { mode: 0o600 });
  io.stderr(
    `${written} of ${sessions.length} PuTTY sessions written to ${sessionsDir}${stale.length > 0 ? `, ${stale.length} removed (${stale.join(', ')})` : ''}; ` +
      `connect with:  plink -load ${sessions[0]?.name ?? `${prefix}NAME`}   (or putty -load …)\n`,
  );
  const { changedKept } = await mergeKeyFile(hostKeysFile, wanted, PUTTY_HOST_KEYS, { replace, io, flagHint: '`--replace`' });
  return changedKept + foreign;
}

/** Where Unix PuTTY keeps its settings: $PUTTYDIR, else $XDG_CONFIG_HOME/putty (~/.config/putty) if it exists, else ~/.putty. */
function puttyDir(env: Io['env'], home: string): string {
  if (env.PUTTYDIR) return env.PUTTYDIR;
  const xdg = join(env.XDG_CONFIG_HOME || join(home, '.config'), 'putty');
  return existsSyncDir(xdg) ? xdg : join(home, '.putty');
}

function existsSyncDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
