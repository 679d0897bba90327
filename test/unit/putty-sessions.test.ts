import { describe, expect, it } from 'vitest';
import {
  decodeReg,
  encodeReg,
  HOST_KEYS_KEY,
  isEc2ipReg,
  parseSessionList,
  regHostKeys,
  registryName,
  regSessions,
  renderReg,
  renderSessionList,
  renderUnixSession,
  SESSIONS_KEY,
  sessionNameProblem,
  unixLogHost,
  unixName,
  type PuttySession,
} from '../../scripts/cli/putty-sessions.js';
import { parseReg, PUTTY_SETTING_TYPES } from '../support/reg-file.js';

const web: PuttySession = {
  name: 'ec2ip-web',
  settings: { HostName: 'web.example.com', PortNumber: 22, Protocol: 'ssh', LogHost: 'i-0abc', UserName: 'ec2-user', PublicKeyFile: 'C:\\Users\\me\\.ssh\\work.ppk' },
};
const db: PuttySession = { name: 'ec2ip-db', settings: { HostName: '198.51.100.7', PortNumber: 2222, Protocol: 'ssh', LogHost: 'i-0def' } };

describe('session names', () => {
  it.each([
    ['ec2ip-web', 'ec2ip-web', 'ec2ip-web'],
    ['ec2ip api.dev', 'ec2ip%20api.dev', 'ec2ip%20api.dev'],
    ['.hidden', '%2Ehidden', '.hidden'],
    ['a\\b*c?d%e', 'a%5Cb%2Ac%3Fd%25e', 'a%5Cb%2Ac%3Fd%25e'],
    ['a:b/c~d', 'a:b/c~d', 'a%3Ab%2Fc%7Ed'],
    ['café', 'caf%C3%A9', 'caf%C3%A9'],
  ])('%s is stored as %s in the registry and %s on Unix', (name, registry, unix) => {
    expect(registryName(name)).toBe(registry);
    expect(unixName(name)).toBe(unix);
  });

  it.each([
    ['', 'empty'],
    ['ec2ip-\tweb', 'control character'],
    ['Default Settings', "PuTTY's own session"],
    [`ec2ip-${'a'.repeat(250)}`, 'the limit is 255'],
    [`ec2ip-${'%'.repeat(100)}`, 'the limit is 255'],
  ])('refuses %j: %s', (name, problem) => {
    expect(sessionNameProblem(name)).toContain(problem);
  });

  it('accepts the longest ec2ip name with the default prefix', () => {
    expect(sessionNameProblem(`ec2ip-${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(57)}`)).toBeUndefined();
  });
});

describe('renderReg', () => {
  const hostKeys = ['ssh-ed25519@22:i-0abc 0x1f,0x2e', 'rsa2@2222:i-0def 0x10001,0xc208'];
  const text = renderReg([web, db], hostKeys);
  const reg = parseReg(encodeReg(text));

  it('writes a Registry Editor 5.00 file in UTF-16LE with a BOM and CRLF lines', () => {
    const bytes = encodeReg(text);
    expect([...bytes.subarray(0, 2)]).toEqual([0xff, 0xfe]);
    expect(decodeReg(bytes).split('\r\n')[0]).toBe('Windows Registry Editor Version 5.00');
    expect(text).not.toMatch(/[^\r]\n/);
  });

  it("puts each session under PuTTY's Sessions key with the value types of PuTTY's own settings", () => {
    expect(Object.keys(reg.keys)).toEqual([`${SESSIONS_KEY}\\ec2ip-web`, `${SESSIONS_KEY}\\ec2ip-db`, HOST_KEYS_KEY]);
    for (const [key, values] of Object.entries(reg.keys)) {
      if (key === HOST_KEYS_KEY) continue;
      for (const [name, value] of Object.entries(values)) expect([name, value.type]).toEqual([name, PUTTY_SETTING_TYPES[name]]);
    }
    expect(reg.keys[`${SESSIONS_KEY}\\ec2ip-web`]).toEqual({
      HostName: { type: 'REG_SZ', data: 'web.example.com' },
      LogHost: { type: 'REG_SZ', data: 'i-0abc' },
      PortNumber: { type: 'REG_DWORD', data: 22 },
      Protocol: { type: 'REG_SZ', data: 'ssh' },
      UserName: { type: 'REG_SZ', data: 'ec2-user' },
      PublicKeyFile: { type: 'REG_SZ', data: 'C:\\Users\\me\\.ssh\\work.ppk' },
    });
    expect(reg.keys[`${SESSIONS_KEY}\\ec2ip-db`]?.PortNumber).toEqual({ type: 'REG_DWORD', data: 2222 });
  });

  it('sets no user name or key file the user did not give (the session keeps its own)', () => {
    expect(Object.keys(reg.keys[`${SESSIONS_KEY}\\ec2ip-db`] ?? {})).toEqual(['HostName', 'LogHost', 'PortNumber', 'Protocol']);
  });

  it('puts the host keys under SshHostKeys as strings named type@port:instance-id', () => {
    expect(reg.keys[HOST_KEYS_KEY]).toEqual({
      'ssh-ed25519@22:i-0abc': { type: 'REG_SZ', data: '0x1f,0x2e' },
      'rsa2@2222:i-0def': { type: 'REG_SZ', data: '0x10001,0xc208' },
    });
    expect(regHostKeys(text)).toEqual(hostKeys);
  });

  it('deletes the sessions the previous file held that are gone now, and only those', () => {
    expect(regSessions(text, 'ec2ip-')).toEqual(['ec2ip-web', 'ec2ip-db']);
    const next = parseReg(encodeReg(renderReg([web], [], regSessions(text, 'ec2ip-'))));
    expect(next.deleted).toEqual([`${SESSIONS_KEY}\\ec2ip-db`]);
    expect(Object.keys(next.keys)).toEqual([`${SESSIONS_KEY}\\ec2ip-web`]);
  });

  it('deletes only listed sessions with the prefix whose key the previous file set, as ec2ip does', () => {
    const listed = text.replace('; ec2ip sessions: ec2ip-web ec2ip-db', '; ec2ip sessions: ec2ip-web ec2ip-db MyProdServer ec2ip-ghost');
    expect(regSessions(listed, 'ec2ip-')).toEqual(['ec2ip-web', 'ec2ip-db']);
    expect(regSessions(listed, 'ec2ip-w')).toEqual(['ec2ip-web']);
    const mine = renderReg([{ name: 'MyProdServer', settings: { ...db.settings } }], []);
    expect(regSessions(mine, 'M')).toEqual(['MyProdServer']);
    expect(regSessions(mine.replace('"LogHost"="i-0def"', '"LogHost"="prod"'), 'M')).toEqual([]);
  });

  it('recognises its own file by the exact mark line, not by the phrase anywhere', () => {
    expect(isEc2ipReg(text)).toBe(true);
    expect(isEc2ipReg(text.replace('; Managed by ec2ip (', '; Managed by ec2ipsec ('))).toBe(false);
    expect(isEc2ipReg('Windows Registry Editor Version 5.00\r\n\r\n[HKEY_CURRENT_USER\\Software\\Mine]\r\n"Note"="; Managed by ec2ip"\r\n')).toBe(false);
  });

  it('reads no sessions or host keys from a file ec2ip did not write', () => {
    const foreign = 'Windows Registry Editor Version 5.00\r\n\r\n; ec2ip sessions: mine\r\n';
    expect(regSessions(foreign, 'ec2ip-')).toEqual([]);
    expect(regHostKeys(foreign)).toEqual([]);
  });

  it('escapes quotes and backslashes in strings', () => {
    const odd = renderReg([{ ...db, settings: { ...db.settings, PublicKeyFile: 'C:\\a "b"\\k.ppk' } }], []);
    expect(parseReg(encodeReg(odd)).keys[`${SESSIONS_KEY}\\ec2ip-db`]?.PublicKeyFile?.data).toBe('C:\\a "b"\\k.ppk');
  });
});

describe('the list of the Unix sessions ec2ip wrote', () => {
  it('round-trips the stored names and reads nothing from another file', () => {
    const text = renderSessionList(['ec2ip-web', 'ec2ip%20api', 'ec2ip-db']);
    expect(text.split('\n')[0]).toMatch(/^# Written by ec2ip putty: /);
    expect([...(parseSessionList(text) ?? [])]).toEqual(['ec2ip%20api', 'ec2ip-db', 'ec2ip-web']);
    expect(parseSessionList('ec2ip-web\n')).toBeUndefined();
    expect(parseSessionList(undefined)).toBeUndefined();
  });

  it('never yields a path: a name with a slash or dot-dot is dropped', () => {
    const text = renderSessionList([]) + '../../.bashrc\n..\n.\nsub/dir\nec2ip-web\n';
    expect([...(parseSessionList(text) ?? [])]).toEqual(['ec2ip-web']);
  });

  it("finds a session file's LogHost", () => {
    expect(unixLogHost('HostName=a\nLogHost=i-0abc\n')).toBe('i-0abc');
    expect(unixLogHost('HostName=a\n')).toBeUndefined();
  });
});

describe('renderUnixSession', () => {
  it('writes Key=Value lines', () => {
    expect(renderUnixSession(db.settings)).toBe('HostName=198.51.100.7\nLogHost=i-0def\nPortNumber=2222\nProtocol=ssh\n');
  });

  it("replaces ec2ip's settings and keeps the ones set in PuTTY since", () => {
    const current = 'Colour0=255,255,255\nHostName=203.0.113.9\nFontHeight=12\nUserName=old\n';
    expect(renderUnixSession({ ...db.settings, UserName: 'ubuntu' }, current)).toBe(
      'HostName=198.51.100.7\nLogHost=i-0def\nPortNumber=2222\nProtocol=ssh\nUserName=ubuntu\nColour0=255,255,255\nFontHeight=12\n',
    );
  });
});
