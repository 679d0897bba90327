/** The deterministic zip of the Lambda bundle. */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { crc32, deterministicZip, packageBundle } from '../../scripts/deploy/zip.js';

interface Read {
  name: string;
  data: Buffer;
  mode: number;
  time: number;
  date: number;
}

/** A minimal reader: follows the central directory, checks local headers and CRCs. */
function readZip(zip: Buffer): Read[] {
  const end = zip.length - 22;
  expect(zip.readUInt32LE(end)).toBe(0x06054b50);
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const out: Read[] = [];
  for (let i = 0; i < count; i++) {
    expect(zip.readUInt32LE(at)).toBe(0x02014b50);
    const crc = zip.readUInt32LE(at + 16);
    const size = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extra = zip.readUInt16LE(at + 30);
    const comment = zip.readUInt16LE(at + 32);
    const mode = zip.readUInt32LE(at + 38) >>> 16;
    const local = zip.readUInt32LE(at + 42);
    const name = zip.subarray(at + 46, at + 46 + nameLength).toString('ascii');
    expect(zip.readUInt32LE(local)).toBe(0x04034b50);
    const localName = zip.readUInt16LE(local + 26);
    const localExtra = zip.readUInt16LE(local + 28);
    const start = local + 30 + localName + localExtra;
    const data = inflateRawSync(zip.subarray(start, start + size));
    expect(crc32(data)).toBe(crc);
    out.push({ name, data, mode, time: zip.readUInt16LE(at + 12), date: zip.readUInt16LE(at + 14) });
    at += 46 + nameLength + extra + comment;
  }
  return out;
}

describe('deterministicZip', () => {
  it('computes the standard CRC-32', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32(Buffer.alloc(0))).toBe(0);
  });

  it('gives the same bytes for the same files, in any order', () => {
    const a = { name: 'index.mjs', data: Buffer.from('export const handler = async () => 1;\n') };
    const b = { name: 'index.mjs.map', data: Buffer.from('{"version":3}') };
    const one = deterministicZip([a, b]);
    const two = deterministicZip([b, a]);
    expect(two.equals(one)).toBe(true);
    expect(deterministicZip([{ ...a, data: Buffer.from('changed') }, b]).equals(one)).toBe(false);
  });

  it('holds the files, sorted, with a fixed 1980-01-01 timestamp and mode 0644', () => {
    const files = readZip(
      deterministicZip([
        { name: 'z.txt', data: Buffer.from('last') },
        { name: 'index.mjs', data: Buffer.from('x'.repeat(10_000)) },
        { name: 'empty', data: Buffer.alloc(0) },
      ]),
    );
    expect(files.map((f) => f.name)).toEqual(['empty', 'index.mjs', 'z.txt']);
    expect(files[1]?.data.toString()).toBe('x'.repeat(10_000));
    expect(files[0]?.data.length).toBe(0);
    for (const f of files) expect({ mode: f.mode, time: f.time, date: f.date }).toEqual({ mode: 0o100644, time: 0, date: 0x21 });
  });

  it('refuses unsafe or duplicate names', () => {
    expect(() => deterministicZip([{ name: '../x', data: Buffer.alloc(1) }])).toThrow(/relative ASCII path/);
    expect(() => deterministicZip([{ name: '/abs', data: Buffer.alloc(1) }])).toThrow(/relative ASCII path/);
    expect(() => deterministicZip([{ name: 'a', data: Buffer.alloc(1) }, { name: 'a', data: Buffer.alloc(1) }])).toThrow(/twice/);
  });
});

describe('packageBundle', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('zips dist/sync/index.mjs and its map; the key hash follows the content only', () => {
    dir = mkdtempSync(join(tmpdir(), 'ec2ip-zip-'));
    mkdirSync(join(dir, 'sync'));
    writeFileSync(join(dir, 'sync', 'index.mjs'), 'export const handler = async () => 1;\n//# sourceMappingURL=index.mjs.map\n');
    writeFileSync(join(dir, 'sync', 'index.mjs.map'), '{"version":3}');
    const first = packageBundle(dir);
    expect(first.files).toEqual(['index.mjs', 'index.mjs.map']);
    expect(first.sha256).toMatch(/^[0-9a-f]{64}$/);
    // Rewriting the same content (new mtimes) changes nothing.
    writeFileSync(join(dir, 'sync', 'index.mjs'), 'export const handler = async () => 1;\n//# sourceMappingURL=index.mjs.map\n');
    expect(packageBundle(dir).sha256).toBe(first.sha256);
    writeFileSync(join(dir, 'sync', 'index.mjs'), 'export const handler = async () => 2;\n');
    expect(packageBundle(dir).sha256).not.toBe(first.sha256);
    expect(readZip(packageBundle(dir).zip).map((f) => f.name)).toEqual(['index.mjs', 'index.mjs.map']);
  });
});
