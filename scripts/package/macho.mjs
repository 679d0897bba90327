// The one Mach-O edit the macOS executable needs and this Linux build can make without Apple's
// codesign: removing the code signature before the injection, as
// `codesign --remove-signature` does (Node's SEA guide does the same before postject). The
// injection would break that signature anyway; without one the user's ad hoc
// `codesign --sign -` starts from a clean file.

const MH_MAGIC_64 = 0xfeedfacf;
const HEADER_64 = 32;
const LC_SEGMENT_64 = 0x19;
const LC_CODE_SIGNATURE = 0x1d;
/** Apple silicon's page size, to which segment sizes are rounded. */
const PAGE = 0x4000;

/**
 * @typedef {{ cmd: number, offset: number, size: number, segname?: string }} LoadCommand
 */

/**
 * The load commands of a thin 64-bit little-endian Mach-O.
 * @param {Buffer} file
 * @returns {LoadCommand[]}
 */
export function loadCommands(file) {
  if (file.length < HEADER_64 || file.readUInt32LE(0) !== MH_MAGIC_64) throw new Error('not a thin 64-bit little-endian Mach-O (a universal binary?)');
  const ncmds = file.readUInt32LE(16);
  const commands = [];
  let offset = HEADER_64;
  for (let i = 0; i < ncmds; i++) {
    const cmd = file.readUInt32LE(offset);
    const size = file.readUInt32LE(offset + 4);
    if (size < 8 || offset + size > HEADER_64 + file.readUInt32LE(20)) throw new Error(`load command ${i} runs past sizeofcmds`);
    const segname = cmd === LC_SEGMENT_64 ? file.toString('latin1', offset + 8, offset + 24).replace(/\0+$/, '') : undefined;
    commands.push({ cmd, offset, size, ...(segname === undefined ? {} : { segname }) });
    offset += size;
  }
  return commands;
}

/**
 * A copy of `file` without its code signature: the LC_CODE_SIGNATURE command removed, the
 * signature data (the end of __LINKEDIT, the end of the file) cut off, and __LINKEDIT shrunk
 * to match. A file without a signature comes back unchanged.
 * @param {Buffer} file
 * @returns {Buffer}
 */
export function removeMachOSignature(file) {
  const out = Buffer.from(file);
  const commands = loadCommands(out);
  const signature = commands.find((c) => c.cmd === LC_CODE_SIGNATURE);
  if (!signature) return out;
  const linkedit = commands.find((c) => c.segname === '__LINKEDIT');
  if (!linkedit) throw new Error('a signed Mach-O without __LINKEDIT');
  const dataoff = out.readUInt32LE(signature.offset + 8);
  const datasize = out.readUInt32LE(signature.offset + 12);
  const fileoff = Number(out.readBigUInt64LE(linkedit.offset + 40));
  const filesize = Number(out.readBigUInt64LE(linkedit.offset + 48));
  if (dataoff + datasize !== fileoff + filesize || fileoff + filesize !== out.length) {
    throw new Error('the code signature is not at the end of __LINKEDIT and of the file: not a layout this can remove');
  }
  const sizeofcmds = out.readUInt32LE(20);
  const end = HEADER_64 + sizeofcmds;
  out.copy(out, signature.offset, signature.offset + signature.size, end);
  out.fill(0, end - signature.size, end);
  out.writeUInt32LE(commands.length - 1, 16);
  out.writeUInt32LE(sizeofcmds - signature.size, 20);
  const at = linkedit.offset > signature.offset ? linkedit.offset - signature.size : linkedit.offset;
  const newSize = dataoff - fileoff;
  out.writeBigUInt64LE(BigInt(newSize), at + 48);
  out.writeBigUInt64LE(BigInt(Math.ceil(newSize / PAGE) * PAGE), at + 32);
  return out.subarray(0, dataoff);
}
