/**
 * PuTTY saved sessions, in PuTTY's two stores: the Windows registry (as a `.reg` file to
 * import) and the Unix files under `~/.putty/sessions`. Pure: rendering and parsing only.
 */

/** One saved session's settings: the values ec2ip sets, by PuTTY's own setting names. */
export interface PuttySession {
  /** The session name as PuTTY shows it (prefix + ec2ip name). */
  name: string;
  settings: PuttySettings;
}

export interface PuttySettings {
  HostName: string;
  PortNumber: number;
  Protocol: 'ssh';
  /** Cached host keys are filed under this name instead of the address (PuTTY's HostKeyAlias). */
  LogHost: string;
  UserName?: string;
  /** The private key (`.ppk`); PuTTY's historical name for the setting. */
  PublicKeyFile?: string;
  /** 5: a local proxy command (PuTTY's "Local" proxy type), `ec2ip proxy`. */
  ProxyMethod?: number;
  /** The local proxy command; PuTTY expands `%host` and `%port` in it. */
  ProxyTelnetCommand?: string;
}

export const SESSIONS_KEY = 'HKEY_CURRENT_USER\\Software\\SimonTatham\\PuTTY\\Sessions';
export const HOST_KEYS_KEY = 'HKEY_CURRENT_USER\\Software\\SimonTatham\\PuTTY\\SshHostKeys';

/** Both stores hold a session under one name of at most this many characters (a registry key name; a file name). */
const MAX_STORED_NAME = 255;

/**
 * The registry key name PuTTY for Windows stores a session under: space, `\`, `*`, `?`, `%`,
 * control and non-ASCII characters, and a leading `.`, become `%XX` (PuTTY's `mungestr`).
 */
export function registryName(session: string): string {
  let out = '';
  for (const [i, ch] of [...Buffer.from(session, 'utf8')].entries()) {
    const c = String.fromCharCode(ch);
    const escape = c === ' ' || c === '\\' || c === '*' || c === '?' || c === '%' || ch < 0x20 || ch > 0x7e || (c === '.' && i === 0);
    out += escape ? `%${ch.toString(16).toUpperCase().padStart(2, '0')}` : c;
  }
  return out;
}

/**
 * The file name PuTTY for Unix stores a session under: letters, digits and `+-.@_` stay,
 * everything else becomes `%XX` (checked with plink 0.78 `-load`).
 */
export function unixName(session: string): string {
  let out = '';
  for (const ch of Buffer.from(session, 'utf8')) {
    const c = String.fromCharCode(ch);
    out += /[A-Za-z0-9+\-.@_]/.test(c) ? c : `%${ch.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Why PuTTY cannot hold a session of this name, or undefined when it can. */
export function sessionNameProblem(session: string): string | undefined {
  if (session === '') return 'the session name is empty';
  if (/[\0-\x1f\x7f]/.test(session)) return 'the session name holds a control character';
  if (session === 'Default Settings') return '"Default Settings" is PuTTY\'s own session';
  const longest = Math.max(registryName(session).length, unixName(session).length);
  if (longest > MAX_STORED_NAME) return `PuTTY stores the session under a name of ${longest} characters; the limit is ${MAX_STORED_NAME}`;
  return undefined;
}

/** Setting name → registry type; the order PuTTY's settings use. Everything else a session holds is left as it is. */
const SETTING_TYPES: [keyof PuttySettings, 'REG_SZ' | 'REG_DWORD'][] = [
  ['HostName', 'REG_SZ'],
  ['LogHost', 'REG_SZ'],
  ['PortNumber', 'REG_DWORD'],
  ['Protocol', 'REG_SZ'],
  ['UserName', 'REG_SZ'],
  ['PublicKeyFile', 'REG_SZ'],
  ['ProxyMethod', 'REG_DWORD'],
  ['ProxyTelnetCommand', 'REG_SZ'],
];

/** True for the local proxy settings ec2ip wrote (`putty --proxy`): a run without --proxy takes them out again. */
function isOurProxy(lines: readonly string[]): boolean {
  return lines.includes('ProxyMethod=5') && lines.some((l) => l.startsWith('ProxyTelnetCommand=') && l.includes(' proxy %host %port'));
}

export const REG_MARK = '; Managed by ec2ip';
const REG_HEADER = 'Windows Registry Editor Version 5.00';
/** The exact line after the header (and a blank line) of every `.reg` file ec2ip writes. */
export const REG_MARK_LINE = `${REG_MARK} (ec2ip putty --format reg): every run rewrites this file. Import it with \`reg import <file>\` or a double-click.`;
const REG_SESSIONS = '; ec2ip sessions:';
const INSTANCE_ID = /^i-[0-9a-f]{1,32}$/;

/** True when `text` is a `.reg` file ec2ip wrote: the header, a blank line, then exactly ec2ip's mark line. */
export function isEc2ipReg(text: string): boolean {
  const [header, blank, mark] = text.split(/\r?\n/, 3);
  return header === REG_HEADER && blank === '' && mark === REG_MARK_LINE;
}

/**
 * A `.reg` file (Windows Registry Editor 5.00) that sets ec2ip's sessions and their cached host
 * keys. Importing it sets only the values ec2ip owns: a session's other settings (colours,
 * fonts) stay. Sessions that `previous` (the last file ec2ip wrote here) held and that are gone
 * now are deleted. `hostKeys` are host-key cache lines as in the Unix file (`name value`).
 * Returned as text; write it with `encodeReg`.
 */
export function renderReg(sessions: readonly PuttySession[], hostKeys: readonly string[], previous: readonly string[] = []): string {
  const names = sessions.map((s) => s.name);
  const lines = [
    REG_HEADER,
    '',
    REG_MARK_LINE,
    `${REG_SESSIONS} ${names.map(registryName).join(' ')}`,
    '',
  ];
  for (const gone of previous.filter((p) => !names.map(registryName).includes(p))) lines.push(`[-${SESSIONS_KEY}\\${gone}]`, '');
  for (const s of sessions) {
    lines.push(`[${SESSIONS_KEY}\\${registryName(s.name)}]`);
    for (const [key, type] of SETTING_TYPES) {
      const value = s.settings[key];
      if (value === undefined) continue;
      lines.push(type === 'REG_DWORD' ? `"${key}"=dword:${Number(value).toString(16).padStart(8, '0')}` : `"${key}"=${regString(String(value))}`);
    }
    lines.push('');
  }
  if (hostKeys.length > 0) {
    lines.push(`[${HOST_KEYS_KEY}]`);
    for (const line of hostKeys) {
      const [name = '', value = ''] = line.split(' ');
      lines.push(`${regString(name)}=${regString(value)}`);
    }
    lines.push('');
  }
  return lines.join('\r\n');
}

/**
 * The session key names a `.reg` file written by ec2ip held, to delete those gone since; empty
 * for any other file. The file's own list is not trusted alone (it may have been edited): a name
 * counts only when it has `prefix`, and the file also holds that session's key with a `LogHost`
 * that is an instance id, as ec2ip writes every session.
 */
export function regSessions(text: string, prefix: string): string[] {
  if (!isEc2ipReg(text)) return [];
  const lines = text.split(/\r?\n/);
  const line = lines.find((l) => l.startsWith(REG_SESSIONS));
  const listed = line ? line.slice(REG_SESSIONS.length).trim().split(/\s+/).filter(Boolean) : [];
  const written = new Set<string>();
  let current: string | undefined;
  for (const l of lines) {
    if (l.startsWith('[')) current = l.startsWith(`[${SESSIONS_KEY}\\`) && l.endsWith(']') ? l.slice(SESSIONS_KEY.length + 2, -1) : undefined;
    const logHost = current !== undefined ? /^"LogHost"="([^"\\]*)"$/.exec(l) : null;
    if (current !== undefined && logHost && INSTANCE_ID.test(logHost[1] ?? '')) written.add(current);
  }
  const ours = registryName(prefix);
  return listed.filter((name) => name.startsWith(ours) && written.has(name));
}

/** The host-key cache values a `.reg` file written by ec2ip sets, as Unix cache lines (`name value`). */
export function regHostKeys(text: string): string[] {
  if (!isEc2ipReg(text)) return [];
  const out: string[] = [];
  let inHostKeys = false;
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith('[')) inHostKeys = line === `[${HOST_KEYS_KEY}]`;
    const value = inHostKeys ? /^"([^"\\]+)"="([^"\\]+)"$/.exec(line) : null;
    if (value) out.push(`${value[1]} ${value[2]}`);
  }
  return out;
}

/** regedit's own encoding: UTF-16LE with a byte-order mark, so non-ASCII paths survive any code page. */
export function encodeReg(text: string): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
}

/** The text of a `.reg` file in either encoding regedit writes (UTF-16LE with BOM, or 8-bit). */
export function decodeReg(bytes: Buffer): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return bytes.subarray(2).toString('utf16le');
  return bytes.toString('utf8');
}

function regString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * A Unix session file: `Key=Value` lines. The settings ec2ip owns replace their old lines; the
 * session's other lines (set in PuTTY since) stay, in their order.
 */
export function renderUnixSession(settings: PuttySettings, current = ''): string {
  const ours = new Map<string, string>();
  for (const [key] of SETTING_TYPES) if (settings[key] !== undefined) ours.set(key, String(settings[key]));
  const dropProxy = settings.ProxyMethod === undefined && isOurProxy(current.split('\n'));
  const kept = current
    .split('\n')
    .filter((line) => line !== '' && !ours.has(line.slice(0, line.indexOf('='))))
    .filter((line) => !dropProxy || !/^(ProxyMethod|ProxyTelnetCommand)=/.test(line));
  return [...[...ours].map(([k, v]) => `${k}=${v}`), ...kept].join('\n') + '\n';
}

/** Where Unix PuTTY's settings folder keeps the list of the sessions ec2ip wrote (beside sessions/, which PuTTY would read as sessions). */
export const SESSION_LIST = 'ec2ip-sessions';
const SESSION_LIST_FIRST_LINE = '# Written by ec2ip putty: the PuTTY sessions it wrote here, the only ones it replaces or removes.';

/** The session list file's text: one stored session name (`unixName`) a line. */
export function renderSessionList(names: Iterable<string>): string {
  return [SESSION_LIST_FIRST_LINE, ...[...new Set(names)].sort()].join('\n') + '\n';
}

/** The stored session names a list written by ec2ip holds; undefined for no list or another file. */
export function parseSessionList(text: string | undefined): Set<string> | undefined {
  if (text === undefined) return undefined;
  const [first, ...names] = text.split('\n');
  if (first !== SESSION_LIST_FIRST_LINE) return undefined;
  // Only names unixName can produce, never a path: the list names files to delete.
  return new Set(names.filter((n) => /^[A-Za-z0-9+\-@_%][A-Za-z0-9+\-.@_%]*$/.test(n)));
}

/** The `LogHost` a Unix session file sets, or undefined. */
export function unixLogHost(text: string): string | undefined {
  return text.split('\n').find((l) => l.startsWith('LogHost='))?.slice('LogHost='.length);
}
