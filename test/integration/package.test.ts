/**
 * ec2ip as users get it, run outside the checkout so it can only use what it carries:
 * - the npm package: `npm pack` (whose prepack builds), `npm install -g --offline` of the
 *   tarball into an empty prefix, then the installed `ec2ip` against moto;
 * - the single-file executables of `npm run build:exe`: the Linux x64 one run against moto,
 *   the other three checked for what this Linux x64 machine can check (format headers, the
 *   injected blob and its assets, size, SHA256SUMS).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ListStacksCommand, CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { packageBundle } from '../../scripts/deploy/zip.js';
import { publish } from '../support/cli.js';
import { elfMachine, machO, pe, SEA_FUSE } from '../support/executable-formats.js';
import { cleanEnv, MANIFEST, packReport, ROOT, run, scratch, show, type Packed } from '../support/installed.js';
import { createZone, describe as describeInstance, REGION, runInstance, useMoto } from '../support/moto.js';

/** Everything the installed CLI needs, and nothing else (npm always adds package.json, README and LICENSE). */
const EXPECTED_FILES = [
  'LICENSE',
  'README.md',
  'dist/cli.mjs',
  'dist/sync/index.mjs',
  'dist/sync/index.mjs.map',
  'infra/hub.yaml',
  'infra/spoke.yaml',
  'infra/template.yaml',
  'package.json',
  'scripts/moto-server.py',
];

/** Settles npm's own configuration: no user .npmrc, no registry reachable, an empty cache. */
const npmFlags = (dir: string) => ['--offline', '--registry', 'http://127.0.0.1:9/', '--cache', join(dir, 'npm-cache'), '--no-audit', '--no-fund', '--no-update-notifier'];

describe('the npm package, packed, installed and run outside the checkout', () => {
  const aws = useMoto();
  const motoEnv = () => cleanEnv({ AWS_ENDPOINT_URL: aws.endpoint, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: REGION, AWS_MAX_ATTEMPTS: '1' });
  let dir: string;
  let packed: Packed;
  let tarball: string;
  let prefix: string;
  let installed: string;
  let bin: string;
  /** A working directory with no package.json anywhere above it. */
  let elsewhere: string;

  beforeAll(async () => {
    dir = scratch('package');
    elsewhere = scratch('cwd');
    // Through npm, as a publish would: prepack builds dist/ first.
    // At the lowest priority, here and for build:exe: the unit tests run beside this file, some
    // with 5-second timeouts, and on two cores a build must not starve them.
    const pack = await run('nice', ['-n', '19', 'npm', 'pack', '--json', '--pack-destination', dir], { cwd: ROOT, env: { ...process.env, npm_config_update_notifier: 'false' }, timeoutMs: 180_000 });
    expect(pack.code, show(pack)).toBe(0);
    packed = packReport(pack.stdout);
    tarball = join(dir, packed.filename);
    prefix = join(dir, 'prefix');
    const install = await run('npm', ['install', '--global', '--prefix', prefix, ...npmFlags(dir), tarball], { cwd: elsewhere, env: cleanEnv(), timeoutMs: 180_000 });
    expect(install.code, show(install)).toBe(0);
    installed = join(prefix, 'lib', 'node_modules', 'ec2ip');
    bin = join(prefix, 'bin', 'ec2ip');
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('holds the CLI, the Lambda bundle, the template, README and LICENSE, and nothing else', async () => {
    expect(packed.files.map((f) => f.path).sort()).toEqual(EXPECTED_FILES);
    const listed = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n').filter((p) => !p.endsWith('/'));
    expect(listed.map((p) => p.replace(/^package\//, '')).sort()).toEqual(EXPECTED_FILES);
    // What `npm pack --dry-run` (the README's listing) says agrees.
    const dry = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, env: process.env });
    expect(dry.code, show(dry)).toBe(0);
    expect(packReport(dry.stdout).files.map((f) => f.path).sort()).toEqual(EXPECTED_FILES);
    // The whole CLI with the SDK inside is a couple of MB; a stray source map or node_modules would show.
    expect(packed.size).toBeLessThan(3 * 1024 * 1024);
  });

  it('is public and has no runtime dependencies, so an offline install works', () => {
    const manifest = JSON.parse(execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' })) as typeof MANIFEST;
    expect(manifest.private).toBeUndefined();
    expect(manifest.dependencies ?? {}).toEqual({});
    expect(manifest.version).toBe(MANIFEST.version);
    expect(realpathSync(bin)).toBe(join(installed, 'dist', 'cli.mjs'));
    expect(existsSync(join(installed, 'node_modules'))).toBe(false);
  });

  it('prints its version and its help', async () => {
    expect(await run(bin, ['--version'], { cwd: elsewhere, env: cleanEnv() })).toEqual({ code: 0, stdout: `${MANIFEST.version}\n`, stderr: '' });
    expect((await run(bin, ['-V'], { cwd: elsewhere, env: cleanEnv() })).stdout).toBe(`${MANIFEST.version}\n`);
    const help = await run(bin, ['--help'], { cwd: elsewhere, env: cleanEnv() });
    expect(help.code, show(help)).toBe(0);
    expect(help.stdout).toMatch(/^ec2ip: stable hostnames/);
    for (const command of ['get', 'list', 'ssh-config', 'deploy']) expect(help.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
  });

  describe('against moto', () => {
    let web: string;
    beforeEach(async () => {
      web = await runInstance({ tags: { 'ec2ip:name': 'web' } });
      await publish({}, [web]);
    });

    it('`ec2ip get` prints the public IP', async () => {
      const { PublicIpAddress } = await describeInstance(web);
      expect(await run(bin, ['get', 'web'], { cwd: elsewhere, env: motoEnv() })).toEqual({ code: 0, stdout: `${PublicIpAddress}\n`, stderr: '' });
    });

    it('`ec2ip deploy --dry-run` uses the template and Lambda bundle inside the package, with no build', async () => {
      const zone = await createZone('example.com');
      const dry = await run(bin, ['deploy', '--hosted-zone-id', zone, '--dry-run'], { cwd: elsewhere, env: motoEnv() });
      expect(dry.code, show(dry)).toBe(0);
      expect(dry.stderr).toContain(`No scripts/build.mjs here (an installed package): deploying the shipped ${join(installed, 'dist', 'sync', 'index.mjs')}\n`);
      expect(dry.stderr).not.toContain('Building');
      expect(dry.stderr).toMatch(/Validating \S*lib\/node_modules\/ec2ip\/infra\/template\.yaml\n/);
      // The very zip a deploy from the checkout would upload: the same bundle and source map.
      const sha256 = packageBundle(join(ROOT, 'dist')).sha256;
      expect(dry.stderr).toContain(`Packaged index.mjs + index.mjs.map: `);
      expect(dry.stderr).toContain(`sha256 ${sha256.slice(0, 12)}`);
      expect(dry.stderr).toMatch(/Add\s+SyncFunction\s+AWS::Lambda::Function/);
      expect(dry.stderr).toContain('Dry run: the change set was deleted; nothing changed.');
      const cfn = new CloudFormationClient({ endpoint: aws.endpoint, region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
      const { StackSummaries = [] } = await cfn.send(new ListStacksCommand({}));
      expect(StackSummaries.filter((s) => s.StackStatus !== 'DELETE_COMPLETE')).toEqual([]);
    });

    it('`npx ./<tarball> ssh-config` runs without an install', async () => {
      const { PublicIpAddress } = await describeInstance(web);
      const ran = await run('npx', ['--yes', ...npmFlags(scratch('npx')), `./${packed.filename}`, 'ssh-config'], { cwd: dir, env: motoEnv() });
      expect(ran.code, show(ran)).toBe(0);
      expect(ran.stdout).toContain(`Host web\n  HostName ${PublicIpAddress}\n  HostKeyAlias ${web}\n`);
    });
  });
});

describe('the single-file executables of npm run build:exe', () => {
  const aws = useMoto();
  const motoEnv = () => cleanEnv({ AWS_ENDPOINT_URL: aws.endpoint, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: REGION, AWS_MAX_ATTEMPTS: '1' });
  let out: string;
  let elsewhere: string;
  let linux: string;
  /** Files the blob carries verbatim as SEA assets. */
  let template: Buffer;
  let bundle: Buffer;

  beforeAll(async () => {
    out = scratch('exe');
    elsewhere = scratch('cwd');
    // All four on every run: the Node binaries are kept in .tools/ after the first download.
    const built = await run('nice', ['-n', '19', 'npm', 'run', 'build:exe', '--', '--out', out], { cwd: ROOT, env: { ...process.env, npm_config_update_notifier: 'false' }, timeoutMs: 900_000 });
    expect(built.code, show(built)).toBe(0);
    linux = join(out, 'ec2ip-linux-x64');
    template = readFileSync(join(ROOT, 'infra', 'template.yaml'));
    bundle = readFileSync(join(ROOT, 'dist', 'sync', 'index.mjs'));
  }, 900_000);

  // Four executables of about 100 MB each: not left behind in the temporary directory.
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  /** Checks every executable shares: the flipped fuse, the blob with its assets, a sane size. */
  const injected = (file: Buffer) => {
    expect(file.indexOf(`${SEA_FUSE}:1`)).toBeGreaterThan(0);
    expect(file.indexOf(`${SEA_FUSE}:0`)).toBe(-1);
    expect(file.indexOf(template)).toBeGreaterThan(0);
    expect(file.indexOf(bundle)).toBeGreaterThan(0);
    expect(file.length).toBeGreaterThan(60 * 1024 * 1024);
    expect(file.length).toBeLessThan(200 * 1024 * 1024);
  };

  it('writes the four executables and a SHA256SUMS that sha256sum -c accepts', async () => {
    const sums = readFileSync(join(out, 'SHA256SUMS'), 'utf8');
    const names = ['ec2ip-linux-x64', 'ec2ip-linux-arm64', 'ec2ip-macos-arm64', 'ec2ip-win-x64.exe'];
    expect(sums).toBe(names.map((name) => `${createHash('sha256').update(readFileSync(join(out, name))).digest('hex')}  ${name}\n`).join(''));
    const check = await run('sha256sum', ['-c', 'SHA256SUMS'], { cwd: out, env: cleanEnv() });
    expect(check.code, show(check)).toBe(0);
    expect(check.stdout).toBe(names.map((name) => `${name}: OK\n`).join(''));
  });

  it('Linux arm64: an aarch64 ELF executable with the blob injected', () => {
    const file = readFileSync(join(out, 'ec2ip-linux-arm64'));
    expect(elfMachine(file)).toBe('aarch64');
    expect(file.indexOf('NODE_SEA_BLOB')).toBeGreaterThan(0);
    injected(file);
  });

  it('macOS arm64: an arm64 Mach-O executable, unsigned, with the NODE_SEA segment at its place', () => {
    const file = readFileSync(join(out, 'ec2ip-macos-arm64'));
    const macho = machO(file);
    expect(macho).toMatchObject({ cpu: 'arm64', executable: true, signed: false, linkeditEndsFile: true });
    expect(macho.sections).toContain('NODE_SEA,__NODE_SEA_BLOB');
    injected(file);
  });

  it('Windows x64: a PE32+ console executable for x64 with a NODE_SEA_BLOB resource', () => {
    const file = readFileSync(join(out, 'ec2ip-win-x64.exe'));
    expect(pe(file)).toEqual({ machine: 'x64', pe32plus: true, console: true });
    expect(file.indexOf(Buffer.from('NODE_SEA_BLOB', 'utf16le'))).toBeGreaterThan(0);
    injected(file);
  });

  it('Linux x64: prints its version and help with no Node.js around', async () => {
    const file = readFileSync(linux);
    expect(elfMachine(file)).toBe('x86-64');
    injected(file);
    const env = { ...cleanEnv(), PATH: '/nonexistent' };
    expect(await run(linux, ['--version'], { cwd: elsewhere, env })).toEqual({ code: 0, stdout: `${MANIFEST.version}\n`, stderr: '' });
    const help = await run(linux, ['--help'], { cwd: elsewhere, env });
    expect(help.code, show(help)).toBe(0);
    expect(help.stdout).toMatch(/^ec2ip: stable hostnames/);
    // Exit codes as the npm CLI's: usage errors are 2.
    expect((await run(linux, ['nope'], { cwd: elsewhere, env })).code).toBe(2);
  });

  describe('Linux x64 against moto', () => {
    let web: string;
    beforeEach(async () => {
      web = await runInstance({ tags: { 'ec2ip:name': 'web' } });
      await publish({}, [web]);
    });

    it('`get` prints the public IP', async () => {
      const { PublicIpAddress } = await describeInstance(web);
      expect(await run(linux, ['get', 'web'], { cwd: elsewhere, env: motoEnv() })).toEqual({ code: 0, stdout: `${PublicIpAddress}\n`, stderr: '' });
    });

    it('`putty --format reg` writes the PuTTY session of each instance', async () => {
      const ran = await run(linux, ['putty', '--format', 'reg', '--user', 'ec2-user', '--skip-host-keys'], { cwd: elsewhere, env: motoEnv() });
      expect(ran.code, show(ran)).toBe(0);
      expect(ran.stdout).toContain('Windows Registry Editor Version 5.00');
      expect(ran.stdout).toContain('[HKEY_CURRENT_USER\\Software\\SimonTatham\\PuTTY\\Sessions\\ec2ip-web]');
      expect(ran.stdout).toContain(`"LogHost"="${web}"`);
    });

    it('`deploy --dry-run` ships the template and Lambda bundle built into it', async () => {
      const zone = await createZone('example.com');
      const tmp = scratch('tmpdir');
      const dry = await run(linux, ['deploy', '--hosted-zone-id', zone, '--dry-run'], { cwd: elsewhere, env: { ...motoEnv(), TMPDIR: tmp } });
      expect(dry.code, show(dry)).toBe(0);
      expect(dry.stderr).toContain('A single-file executable: deploying the Lambda bundle built into it\n');
      expect(dry.stderr).toContain('Validating the template built into this executable\n');
      // The same zip as a deploy from the checkout: the same bundle and source map, byte for byte.
      expect(dry.stderr).toContain(`sha256 ${packageBundle(join(ROOT, 'dist')).sha256.slice(0, 12)}`);
      expect(dry.stderr).toContain('Dry run: the change set was deleted; nothing changed.');
      // The assets were written out to be zipped, and removed again.
      expect(readdirSync(tmp)).toEqual([]);
    });
  });
});
