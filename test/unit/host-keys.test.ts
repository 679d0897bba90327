import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  fingerprint,
  KNOWN_HOSTS,
  knownHostsEntries,
  mergeKeyStore,
  parseConsoleHostKeys,
  PUTTY_HOST_KEYS,
  puttyEntries,
  puttyKeyValue,
  puttyValueName,
  validKey,
  type HostKey,
} from '../../scripts/cli/host-keys.js';

const console_ = readFileSync(new URL('../events/constructed.console-output.cloud-init.txt', import.meta.url), 'utf8');
const plink = JSON.parse(readFileSync(new URL('../events/recorded.plink-sshhostkeys.json', import.meta.url), 'utf8')) as {
  entries: { publicKey: string; plinkCacheName: string; plinkCacheValue: string }[];
};
const key = (line: string): HostKey => {
  const [type = '', base64 = ''] = line.split(' ');
  return { type, base64 };
};
const KEYS = parseConsoleHostKeys(console_) ?? [];
const ED = KEYS.find((k) => k.type === 'ssh-ed25519') as HostKey;

describe('parseConsoleHostKeys', () => {
  it('reads the three keys of the last block, skipping a kernel line printed in between', () => {
    expect(KEYS.map((k) => k.type)).toEqual(['ecdsa-sha2-nistp256', 'ssh-ed25519', 'ssh-rsa']);
    for (const k of KEYS) expect(validKey(k)).toBe(true);
  });

  it('takes the fingerprints the console printed for the same keys', () => {
    for (const k of KEYS) expect(console_).toContain(fingerprint(k));
  });

  it('takes the last complete block when the instance booted twice', () => {
    const other = plink.entries[3]?.publicKey as string;
    const second = `-----BEGIN SSH HOST KEY KEYS-----\r\n${other} root@new\r\n-----END SSH HOST KEY KEYS-----\r\n`;
    expect(parseConsoleHostKeys(`${console_}${second}`)).toEqual([key(other)]);
  });

  it.each([
    ['no block', 'Linux version 6.1\nlogin:'],
    ['a block that has not ended (output cut off)', '-----BEGIN SSH HOST KEY KEYS-----\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ1JONfzwbE3h3TJPSG9QxCK8btmoOqHv4s2LrRhH4yf r\n'],
    ['an empty block', '-----BEGIN SSH HOST KEY KEYS-----\n-----END SSH HOST KEY KEYS-----\n'],
    ['an end without a begin', 'ssh-ed25519 AAAA\n-----END SSH HOST KEY KEYS-----\n'],
  ])('finds no keys in %s', (_, text) => {
    expect(parseConsoleHostKeys(text)).toBeUndefined();
  });

  it('ignores a line whose blob is cut short or names another type than the line', () => {
    const truncated = `${ED.type} ${ED.base64.slice(0, 40)}`;
    const mislabelled = `ssh-rsa ${ED.base64}`;
    expect(parseConsoleHostKeys(`-----BEGIN SSH HOST KEY KEYS-----\n${truncated}\n${mislabelled}\n-----END SSH HOST KEY KEYS-----\n`)).toBeUndefined();
  });

  it('ignores an Ed25519 blob that is not a point on the curve', () => {
    // y = 2 has no x on Ed25519.
    const blob = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32, 2]), Buffer.alloc(31)]);
    expect(validKey({ type: 'ssh-ed25519', base64: blob.toString('base64') })).toBe(false);
  });
});

describe('PuTTY host-key cache entries', () => {
  it.each(plink.entries.map((e) => [e.plinkCacheName, e]))('match what plink itself wrote for %s', (_, e) => {
    const [, port, host] = /@(\d+):(.+)$/.exec(e.plinkCacheName) ?? [];
    const [entry] = puttyEntries(host as string, Number(port), [key(e.publicKey)]);
    expect(entry && puttyValueName(entry)).toBe(e.plinkCacheName);
    expect(puttyKeyValue(key(e.publicKey))).toBe(e.plinkCacheValue);
  });
});

describe('mergeKeyStore with known_hosts', () => {
  const id = 'i-0abc';
  const wanted = [{ alias: id, label: 'web', entries: knownHostsEntries(id, KEYS) }];
  const others = 'github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n@revoked * ssh-rsa AAAAB3Nza\n';

  it('appends the missing keys and leaves every other line as it was', () => {
    const { text, outcomes } = mergeKeyStore(others, wanted, KNOWN_HOSTS);
    expect(text.startsWith(others)).toBe(true);
    expect(text.slice(others.length).split('\n').filter(Boolean)).toEqual(KEYS.map((k) => `${id} ${k.type} ${k.base64} ec2ip:web`));
    expect(outcomes[0]).toMatchObject({ added: wanted[0]?.entries, changed: [], replaced: false });
  });

  it('changes nothing on a second run', () => {
    const once = mergeKeyStore(others, wanted, KNOWN_HOSTS).text;
    const twice = mergeKeyStore(once, wanted, KNOWN_HOSTS);
    expect(twice.text).toBe(once);
    expect(twice.outcomes[0]?.added).toEqual([]);
  });

  it('recognises a hashed entry for the instance id (HashKnownHosts yes)', () => {
    const salt = randomBytes(20);
    const hash = createHmac('sha1', salt).update(id).digest('base64');
    const hashed = `|1|${salt.toString('base64')}|${hash} ${ED.type} ${ED.base64}\n`;
    const { text, outcomes } = mergeKeyStore(hashed, wanted, KNOWN_HOSTS);
    expect(outcomes[0]?.added.map((e) => e.type)).toEqual(['ecdsa-sha2-nistp256', 'ssh-rsa']);
    expect(text.startsWith(hashed)).toBe(true);
  });

  it('reports a changed key and keeps the recorded one, the file unchanged', () => {
    const impostor = key(plink.entries[3]?.publicKey as string);
    const recorded = `${others}${id} ssh-ed25519 ${impostor.base64}\n`;
    const { text, outcomes } = mergeKeyStore(recorded, wanted, KNOWN_HOSTS);
    expect(text).toBe(recorded);
    expect(outcomes[0]).toMatchObject({ added: [], replaced: false, changed: [{ type: 'ssh-ed25519', recorded: impostor.base64, shown: ED.base64 }] });
  });

  it('replaces a changed key only when asked, keeping the other hosts of a shared line', () => {
    const impostor = key(plink.entries[3]?.publicKey as string);
    const recorded = `${others}${id},198.51.100.7 ssh-ed25519 ${impostor.base64}\n`;
    const { text, outcomes } = mergeKeyStore(recorded, wanted, KNOWN_HOSTS, { replace: true });
    expect(outcomes[0]?.replaced).toBe(true);
    expect(text).toContain(`\n198.51.100.7 ssh-ed25519 ${impostor.base64}\n`);
    expect(text).not.toContain(`${id},`);
    expect(text).toContain(`${id} ssh-ed25519 ${ED.base64} ec2ip:web\n`);
  });
});

describe('mergeKeyStore with PuTTY\'s sshhostkeys', () => {
  it('files the keys under type@port:instance-id and reports a changed one', () => {
    const entries = puttyEntries('i-0abc', 22, KEYS);
    const first = mergeKeyStore('rsa2@22:other.example 0x10001,0xabc\n', [{ alias: '22:i-0abc', label: 'web', entries }], PUTTY_HOST_KEYS);
    expect(first.text.split('\n')[1]).toBe(`ecdsa-sha2-nistp256@22:i-0abc ${puttyKeyValue(KEYS[0] as HostKey)}`);
    const tampered = first.text.replace(/(ssh-ed25519@22:i-0abc 0x)[0-9a-f]/, '$1f');
    const second = mergeKeyStore(tampered, [{ alias: '22:i-0abc', label: 'web', entries }], PUTTY_HOST_KEYS);
    expect(second.text).toBe(tampered);
    expect(second.outcomes[0]?.changed.map((c) => c.type)).toEqual(['ssh-ed25519']);
  });
});
