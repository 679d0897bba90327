/**
 * Reading just enough of ELF, Mach-O and PE headers to check an executable built for a platform
 * this machine cannot run: which CPU it is for, what kind of file it is, and (Mach-O) its load
 * commands.
 */

/** The fuse Node checks for an injected SEA blob (postject turns its `:0` into `:1`). */
export const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/** An ELF file's machine (e_machine), for a 64-bit little-endian ELF; throws for anything else. */
export function elfMachine(file: Buffer): string {
  if (file.toString('latin1', 0, 4) !== '\x7fELF') throw new Error('not an ELF file');
  if (file[4] !== 2 || file[5] !== 1) throw new Error('not a 64-bit little-endian ELF');
  if (file.readUInt16LE(16) !== 2 && file.readUInt16LE(16) !== 3) throw new Error('not an ELF executable');
  const machine = file.readUInt16LE(18);
  return ({ 0x3e: 'x86-64', 0xb7: 'aarch64' } as Record<number, string>)[machine] ?? `machine 0x${machine.toString(16)}`;
}

export interface MachO {
  cpu: string;
  executable: boolean;
  /** Whether an LC_CODE_SIGNATURE load command is present. */
  signed: boolean;
  /** `segment,section` of every section. */
  sections: string[];
  /** __LINKEDIT is the last thing in the file, as dyld and codesign require. */
  linkeditEndsFile: boolean;
}

/** A thin 64-bit little-endian Mach-O's CPU, type and load commands. */
export function machO(file: Buffer): MachO {
  if (file.readUInt32LE(0) !== 0xfeedfacf) throw new Error('not a thin 64-bit little-endian Mach-O');
  const cputype = file.readUInt32LE(4);
  const ncmds = file.readUInt32LE(16);
  const sections: string[] = [];
  let signed = false;
  let linkeditEnd = -1;
  const name = (at: number) => file.toString('latin1', at, at + 16).replace(/\0+$/, '');
  let offset = 32;
  for (let i = 0; i < ncmds; i++) {
    const cmd = file.readUInt32LE(offset);
    const size = file.readUInt32LE(offset + 4);
    if (cmd === 0x1d) signed = true;
    if (cmd === 0x19) {
      const segment = name(offset + 8);
      if (segment === '__LINKEDIT') linkeditEnd = Number(file.readBigUInt64LE(offset + 40) + file.readBigUInt64LE(offset + 48));
      const nsects = file.readUInt32LE(offset + 64);
      for (let s = 0; s < nsects; s++) {
        const at = offset + 72 + s * 80;
        sections.push(`${name(at + 16)},${name(at)}`);
      }
    }
    offset += size;
  }
  return {
    cpu: ({ 0x0100000c: 'arm64', 0x01000007: 'x86-64' } as Record<number, string>)[cputype] ?? `cputype 0x${cputype.toString(16)}`,
    executable: file.readUInt32LE(12) === 2,
    signed,
    sections,
    linkeditEndsFile: linkeditEnd === file.length,
  };
}

/** A PE file's machine, whether it is PE32+ (64-bit), and whether it is a console program. */
export function pe(file: Buffer): { machine: string; pe32plus: boolean; console: boolean } {
  if (file.toString('latin1', 0, 2) !== 'MZ') throw new Error('no MZ header');
  const at = file.readUInt32LE(0x3c);
  if (file.toString('latin1', at, at + 4) !== 'PE\0\0') throw new Error('no PE signature');
  const machine = file.readUInt16LE(at + 4);
  const optional = at + 24;
  return {
    machine: ({ 0x8664: 'x64', 0xaa64: 'arm64', 0x14c: 'x86' } as Record<number, string>)[machine] ?? `machine 0x${machine.toString(16)}`,
    pe32plus: file.readUInt16LE(optional) === 0x20b,
    // IMAGE_SUBSYSTEM_WINDOWS_CUI, at the same offset in PE32+ optional headers.
    console: file.readUInt16LE(optional + 68) === 3,
  };
}
