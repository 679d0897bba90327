/**
 * The host-key checks `npm run mutate` found unpinned: which blobs validKey accepts (type
 * field, field count, ed25519 length and point, ECDSA curve and point form), sshFields on
 * truncated blobs, fingerprints as ssh-keygen prints them, and sameKeys.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fingerprint, sameKeys, sshFields, validKey, type HostKey } from '../../functions/core/host-keys.js';
import { tempFolder } from '../support/temp.js';

/** An SSH wire-format blob: each field a uint32 length and its bytes. */
function blob(...fields: (string | Buffer)[]): string {
  return Buffer.concat(
    fields.map((f) => {
      const bytes = typeof f === 'string' ? Buffer.from(f, 'latin1') : f;
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length);
      return Buffer.concat([length, bytes]);
    }),
  ).toString('base64');
}

function ed25519Raw(): Buffer {
  const der = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' });
  return der.subarray(der.length - 32);
}

function p256Point(): Buffer {
  const jwk = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'jwk' });
  return Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x as string, 'base64url'), Buffer.from(jwk.y as string, 'base64url')]);
}

describe('validKey', () => {
  const ed = ed25519Raw();
  const point = p256Point();

  it('accepts a real ed25519, ECDSA P-256 and RSA key', () => {
    expect(validKey({ type: 'ssh-ed25519', base64: blob('ssh-ed25519', ed) })).toBe(true);
    expect(validKey({ type: 'ecdsa-sha2-nistp256', base64: blob('ecdsa-sha2-nistp256', 'nistp256', point) })).toBe(true);
    expect(validKey({ type: 'ssh-rsa', base64: blob('ssh-rsa', Buffer.from([1, 0, 1]), Buffer.alloc(257, 0x81)) })).toBe(true);
  });

  it.each([
    ['a blob whose type field is another type', { type: 'ssh-ed25519', base64: blob('ssh-rsa', Buffer.alloc(32, 1)) }],
    ['an ed25519 blob with an extra field', { type: 'ssh-ed25519', base64: blob('ssh-ed25519', ed, 'x') }],
    ['an ed25519 key of 31 bytes', { type: 'ssh-ed25519', base64: blob('ssh-ed25519', ed.subarray(0, 31)) }],
    ['an ed25519 key of 33 bytes', { type: 'ssh-ed25519', base64: blob('ssh-ed25519', Buffer.concat([ed, Buffer.from([0])])) }],
    ['an ed25519 type with no key', { type: 'ssh-ed25519', base64: blob('ssh-ed25519') }],
    ['an ECDSA blob naming another curve', { type: 'ecdsa-sha2-nistp256', base64: blob('ecdsa-sha2-nistp256', 'nistp384', point) }],
    ['an ECDSA point not in uncompressed form', { type: 'ecdsa-sha2-nistp256', base64: blob('ecdsa-sha2-nistp256', 'nistp256', Buffer.concat([Buffer.from([2]), point.subarray(1, 33)])) }],
    ['an ECDSA blob without its point', { type: 'ecdsa-sha2-nistp256', base64: blob('ecdsa-sha2-nistp256', 'nistp256') }],
    ['an ECDSA blob with an extra field', { type: 'ecdsa-sha2-nistp256', base64: blob('ecdsa-sha2-nistp256', 'nistp256', point, 'x') }],
    ['an RSA blob without its modulus', { type: 'ssh-rsa', base64: blob('ssh-rsa', Buffer.from([1, 0, 1])) }],
    ['an RSA blob with four fields', { type: 'ssh-rsa', base64: blob('ssh-rsa', Buffer.from([1, 0, 1]), Buffer.alloc(8, 1), 'x') }],
    ['a truncated blob', { type: 'ssh-rsa', base64: Buffer.from(blob('ssh-rsa', Buffer.from([1, 0, 1]), Buffer.alloc(8, 1)), 'base64').subarray(0, 20).toString('base64') }],
  ] as [string, HostKey][])('refuses %s', (_what, key) => {
    expect(validKey(key)).toBe(false);
  });
});

describe('sshFields', () => {
  it('splits a blob into its fields, empty ones included', () => {
    expect(sshFields(Buffer.from(blob('ab', '', 'cde'), 'base64')).map((f) => f.toString('latin1'))).toEqual(['ab', '', 'cde']);
    expect(sshFields(Buffer.alloc(0))).toEqual([]);
  });

  it.each([
    ['a length cut short', Buffer.from([0, 0, 0])],
    ['a field shorter than its length', Buffer.from([0, 0, 0, 3, 0x61, 0x62])],
    ['a second field cut short', Buffer.concat([Buffer.from(blob('a'), 'base64'), Buffer.from([0, 0])])],
  ])('throws on %s', (_what, bytes) => {
    expect(() => sshFields(bytes)).toThrow('truncated key blob');
  });

  it('reads a field that ends exactly at the end of the blob', () => {
    expect(sshFields(Buffer.from([0, 0, 0, 2, 0x61, 0x62])).map((f) => f.toString('latin1'))).toEqual(['ab']);
  });
});

describe('fingerprint', () => {
  it('is what ssh-keygen -l prints for the same key', () => {
    const dir = tempFolder('ec2ip-fp-');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'x', '-f', join(dir, 'k')]);
    const [type = '', base64 = ''] = execFileSync('cat', [join(dir, 'k.pub')], { encoding: 'utf8' }).trim().split(' ');
    const printed = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(dir, 'k.pub')], { encoding: 'utf8' }).split(' ')[1];
    expect(printed).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(fingerprint({ type, base64 })).toBe(printed);
  });
});

describe('sameKeys', () => {
  const a = { type: 'ssh-ed25519', base64: 'AAAA' };
  const b = { type: 'ssh-rsa', base64: 'BBBB' };
  it.each([
    [[a, b], [b, a], true],
    [[], [], true],
    [[a], [a, b], false],
    [[a, b], [a], false],
    [[a], [{ ...a, base64: 'AAAB' }], false],
    [[a], [{ ...a, type: 'ssh-rsa' }], false],
    // A repeated key is not the set of two keys, either way round.
    [[a, a], [a, b], false],
    [[a, b], [a, a], false],
  ] as [HostKey[], HostKey[], boolean][])('sameKeys(%j, %j) is %s', (x, y, same) => {
    expect(sameKeys(x, y)).toBe(same);
  });
});
