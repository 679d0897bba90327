/**
 * A strict reader of Windows Registry Editor 5.00 files, written apart from ec2ip's renderer so
 * a test can check what `reg import` would set, and turn it into Unix PuTTY's store to let plink
 * use it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface RegValue {
  type: 'REG_SZ' | 'REG_DWORD';
  data: string | number;
}

export interface RegFile {
  /** Keys set, in file order, with their values. */
  keys: Record<string, Record<string, RegValue>>;
  /** Keys deleted (`[-KEY]`). */
  deleted: string[];
}

/**
 * The registry type of each session setting ec2ip writes, as PuTTY's settings.c stores it:
 * `write_setting_s` and `write_setting_filename` are REG_SZ, `write_setting_i` is REG_DWORD.
 */
export const PUTTY_SETTING_TYPES: Record<string, RegValue['type']> = {
  HostName: 'REG_SZ',
  LogHost: 'REG_SZ',
  PortNumber: 'REG_DWORD',
  Protocol: 'REG_SZ',
  UserName: 'REG_SZ',
  PublicKeyFile: 'REG_SZ',
  ProxyMethod: 'REG_DWORD',
  ProxyTelnetCommand: 'REG_SZ',
};

/** Parses a `.reg` file; throws on anything regedit would not import as written. */
export function parseReg(bytes: Buffer): RegFile {
  if (bytes[0] !== 0xff || bytes[1] !== 0xfe) throw new Error('not UTF-16LE with a byte-order mark');
  const lines = bytes.subarray(2).toString('utf16le').split('\r\n');
  if (lines[0] !== 'Windows Registry Editor Version 5.00') throw new Error(`bad header: ${lines[0]}`);
  const out: RegFile = { keys: {}, deleted: [] };
  let current: Record<string, RegValue> | undefined;
  for (const [i, line] of lines.entries()) {
    if (i === 0 || line === '' || line.startsWith(';')) continue;
    const key = /^\[(-?)(HKEY_CURRENT_USER\\[^\]]+)\]$/.exec(line);
    if (key) {
      if (key[1]) {
        out.deleted.push(key[2] as string);
        current = undefined;
      } else {
        current = out.keys[key[2] as string] ??= {};
      }
      continue;
    }
    const value = /^"((?:[^"\\]|\\.)*)"=(?:"((?:[^"\\]|\\.)*)"|dword:([0-9a-f]{8}))$/.exec(line);
    if (!value || !current) throw new Error(`line ${i + 1} is not a value of a key: ${line}`);
    const name = unescape(value[1] as string);
    current[name] = value[3] !== undefined ? { type: 'REG_DWORD', data: parseInt(value[3], 16) } : { type: 'REG_SZ', data: unescape(value[2] as string) };
  }
  return out;
}

function unescape(s: string): string {
  return s.replace(/\\(.)/g, '$1');
}

/**
 * Writes what importing `reg` would put in PuTTY's registry keys as Unix PuTTY's store under
 * `dir` (the same setting names; a DWORD as its decimal value), so plink can load it.
 */
export function regToPuttyDir(reg: RegFile, dir: string, sessionFile: (registryName: string) => string): void {
  mkdirSync(join(dir, 'sessions'), { recursive: true });
  const hostKeys: string[] = [];
  for (const [key, values] of Object.entries(reg.keys)) {
    const session = /\\Software\\SimonTatham\\PuTTY\\Sessions\\(.+)$/.exec(key);
    if (session) {
      const text = Object.entries(values).map(([name, v]) => `${name}=${v.data}\n`).join('');
      writeFileSync(join(dir, 'sessions', sessionFile(session[1] as string)), text);
    } else if (key.endsWith('\\Software\\SimonTatham\\PuTTY\\SshHostKeys')) {
      for (const [name, v] of Object.entries(values)) hostKeys.push(`${name} ${v.data}\n`);
    } else {
      throw new Error(`unexpected key ${key}`);
    }
  }
  writeFileSync(join(dir, 'sshhostkeys'), hostKeys.join(''));
}
