/**
 * A deterministic zip of the Lambda bundle: the same files give the same bytes, so an
 * unchanged build uploads nothing and leaves the stack's CodeS3Key (a content hash) as it was.
 *
 * Written by hand (about 60 lines) rather than with a zip library: every field that varies
 * between runs in a general-purpose writer (timestamps, permissions, entry order, extra
 * fields with mtime/uid) is fixed here: DOS time 1980-01-01 00:00, mode 0644, sorted entries,
 * no extra fields, deflate at level 9.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants, deflateRawSync } from 'node:zlib';

export interface ZipEntry {
  /** Path inside the zip, `/`-separated, ASCII. */
  name: string;
  data: Buffer;
}

/** 1980-01-01 00:00:00, the earliest DOS date: time 0, date (0 << 9) | (1 << 5) | 1. */
const DOS_TIME = 0;
const DOS_DATE = 0x21;
/** Regular file, rw-r--r--, in the high 16 bits of the external attributes (Unix "made by"). */
const EXTERNAL_ATTRS = (0o100644 << 16) >>> 0;
const MADE_BY_UNIX = (3 << 8) | 20;
const VERSION_NEEDED = 20;
const DEFLATE = 8;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(data: Buffer): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = (CRC_TABLE[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The zip of `entries`, sorted by name; the same input always gives the same bytes. */
export function deterministicZip(entries: ZipEntry[]): Buffer {
  const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const names = new Set<string>();
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const { name, data } of sorted) {
    if (!/^[\x21-\x7e][\x20-\x7e]*$/.test(name) || name.startsWith('/') || name.split('/').includes('..')) {
      throw new Error(`zip entry name ${JSON.stringify(name)} must be a relative ASCII path`);
    }
    if (names.has(name)) throw new Error(`zip entry ${name} appears twice`);
    names.add(name);
    const nameBytes = Buffer.from(name, 'ascii');
    const compressed = deflateRawSync(data, { level: constants.Z_BEST_COMPRESSION });
    const crc = crc32(data);
    if (offset + compressed.length + 30 + nameBytes.length > 0xffffffff) throw new Error('the bundle is too large for a zip without Zip64');

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(VERSION_NEEDED, 4);
    local.writeUInt16LE(0, 6); // flags
    local.writeUInt16LE(DEFLATE, 8);
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(compressed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    local.writeUInt16LE(0, 28); // extra length
    locals.push(local, nameBytes, compressed);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(MADE_BY_UNIX, 4);
    central.writeUInt16LE(VERSION_NEEDED, 6);
    central.writeUInt16LE(0, 8);
    central.writeUInt16LE(DEFLATE, 10);
    central.writeUInt16LE(DOS_TIME, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(compressed.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt16LE(0, 30); // extra length
    central.writeUInt16LE(0, 32); // comment length
    central.writeUInt16LE(0, 34); // disk
    central.writeUInt16LE(0, 36); // internal attributes
    central.writeUInt32LE(EXTERNAL_ATTRS, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, nameBytes);

    offset += local.length + nameBytes.length + compressed.length;
  }
  if (sorted.length > 0xffff) throw new Error('too many zip entries');
  const centralDir = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(0, 4);
  end.writeUInt16LE(0, 6);
  end.writeUInt16LE(sorted.length, 8);
  end.writeUInt16LE(sorted.length, 10);
  end.writeUInt32LE(centralDir.length, 12);
  end.writeUInt32LE(offset, 16);
  end.writeUInt16LE(0, 20);
  return Buffer.concat([...locals, centralDir, end]);
}

export interface Package {
  zip: Buffer;
  /** Hex SHA-256 of the zip: names the S3 object. */
  sha256: string;
  files: string[];
}

/**
 * Zips the built Lambda (`<distDir>/sync/index.mjs`, and its source map when present, so
 * that NODE_OPTIONS=--enable-source-maps can be switched on without a redeploy).
 */
export function packageBundle(distDir: string): Package {
  const dir = join(distDir, 'sync');
  const entries: ZipEntry[] = [{ name: 'index.mjs', data: readFileSync(join(dir, 'index.mjs')) }];
  if (existsSync(join(dir, 'index.mjs.map'))) entries.push({ name: 'index.mjs.map', data: readFileSync(join(dir, 'index.mjs.map')) });
  const zip = deterministicZip(entries);
  return { zip, sha256: createHash('sha256').update(zip).digest('hex'), files: entries.map((e) => e.name).sort() };
}
