/**
 * Where the package lives (the CLI runs from scripts/ under tsx/vitest, bundled as
 * dist/cli.mjs in a checkout or an installed npm package, or inside a single-file
 * executable) and how to (re)build the Lambda before a deploy.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError, EXIT } from '../cli/errors.js';
import type { Io } from '../cli/io.js';

/** The directory holding ec2ip's package.json, found upwards from `from` (default: this file). */
export function packageRoot(from: string = fileURLToPath(import.meta.url)): string {
  let dir = dirname(from);
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'ec2ip') return dir;
      } catch {
        // not ours; keep looking
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new CliError(`cannot find the ec2ip package (its package.json) above ${from}`, EXIT.usage);
    dir = parent;
  }
}

export interface Layout {
  root: string;
  template: string;
  /** infra/hub.yaml: the hub of many accounts (`deploy --hub`). */
  hubTemplate: string;
  /** infra/spoke.yaml: the spokes' StackSet template (`deploy --spokes`). */
  spokeTemplate: string;
  dist: string;
  bundle: string;
  buildScript: string;
  /** Set when the files were taken out of a single-file executable: removes them. */
  cleanup?: () => void;
}

export function layout(root: string): Layout {
  return {
    root,
    template: join(root, 'infra', 'template.yaml'),
    hubTemplate: join(root, 'infra', 'hub.yaml'),
    spokeTemplate: join(root, 'infra', 'spoke.yaml'),
    dist: join(root, 'dist'),
    bundle: join(root, 'dist', 'sync', 'index.mjs'),
    buildScript: join(root, 'scripts', 'build.mjs'),
  };
}

/**
 * The names of the files a single-file executable carries as SEA assets
 * (scripts/package/build-exe.mjs embeds them), relative to the package root.
 */
export const SEA_ASSETS = ['infra/template.yaml', 'infra/hub.yaml', 'infra/spoke.yaml', 'dist/sync/index.mjs', 'dist/sync/index.mjs.map'] as const;

type Sea = { isSea(): boolean; getAsset(key: string): ArrayBuffer };

/** node:sea when this runs as a single-file executable; process.getBuiltinModule is missing before Node 20.16. */
function seaModule(): Sea | undefined {
  const getBuiltin = process.getBuiltinModule as ((id: string) => unknown) | undefined;
  const sea = getBuiltin?.('node:sea') as Sea | undefined;
  return sea?.isSea() ? sea : undefined;
}

/**
 * The template and Lambda bundle that `ec2ip deploy` ships: the ones of the package around
 * this file (a checkout, or an installed package: found from the bundle's own path, never
 * from the working directory), or, in a single-file executable, its embedded copies, written
 * to a private temporary directory that `cleanup` removes.
 */
export function locate(): Layout {
  const sea = seaModule();
  if (!sea) return layout(packageRoot());
  const root = mkdtempSync(join(tmpdir(), 'ec2ip-'));
  for (const name of SEA_ASSETS) {
    const file = join(root, ...name.split('/'));
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, Buffer.from(sea.getAsset(name)));
  }
  return { ...layout(root), cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/**
 * Runs `node scripts/build.mjs` unless told to skip; without the build script (an installed
 * package) the shipped dist/ is used. Either way the bundle must exist afterwards.
 */
export async function ensureBuilt(paths: Layout, { skip }: { skip: boolean }, io: Io): Promise<void> {
  if (!skip && existsSync(paths.buildScript)) {
    io.stderr(`Building: node scripts/build.mjs\n`);
    await runBuild(paths, io);
  } else if (!skip) {
    io.stderr(
      paths.cleanup
        ? `A single-file executable: deploying the Lambda bundle built into it\n`
        : `No scripts/build.mjs here (an installed package): deploying the shipped ${paths.bundle}\n`,
    );
  }
  if (!existsSync(paths.bundle)) {
    throw new CliError(
      `${paths.bundle} does not exist: run \`npm run build\` first${skip ? ' (or drop --skip-build)' : ''}`,
      EXIT.usage,
    );
  }
}

function runBuild(paths: Layout, io: Io): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [paths.buildScript], { cwd: paths.root, stdio: ['ignore', 'pipe', 'pipe'], env: io.env as NodeJS.ProcessEnv });
    // The build's own output is progress, not the command's result: keep stdout clean.
    const forward = (chunk: Buffer) => io.stderr(chunk.toString().replace(/^(?=.)/gm, '  '));
    child.stdout.on('data', forward);
    child.stderr.on('data', forward);
    child.once('error', (error) => reject(new CliError(`could not run the build: ${error.message}`, EXIT.failed, { cause: error })));
    child.once('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new CliError(`the build failed (${signal ?? `exit code ${code}`}); fix it, or pass --skip-build to deploy the existing dist/`, EXIT.failed));
    });
  });
}
