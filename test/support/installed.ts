/**
 * Running ec2ip as a user installs it: the packed npm package (npm pack, npm install -g) and
 * the single-file executables, as child processes outside the checkout with a clean environment.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempFolder } from './temp.js';

/** The checkout this test runs in. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The checkout's package.json. */
export const MANIFEST = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  private?: boolean;
};

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** A directory of its own under the system's temporary directory: outside any checkout; removed when the test file ends. */
export function scratch(label: string): string {
  return tempFolder(label);
}

/**
 * An environment with none of the machine's AWS settings or credentials, and nothing of the
 * CLI's settings: only PATH (with this Node first, for `#!/usr/bin/env node`) and `extra`.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: `${dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: scratch('home'),
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...extra,
  };
}

/** Runs `file args`; resolves with its exit code and output whatever the code (a signal gives 128). */
export function run(file: string, args: string[], { cwd, env, timeoutMs = 120_000 }: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 128) : 0;
      resolve({ code, stdout, stderr: error && typeof error.code !== 'number' ? `${stderr}\n${error.message}` : stderr });
    });
  });
}

/** A run's exit code and output, for an assertion's message. */
export const show = (r: Ran): string => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

/** What `npm pack --json` reports of one tarball. */
export interface Packed {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string; size: number; mode: number }[];
}

/** The JSON `npm pack --json` prints after whatever its prepack script printed on stdout. */
export function packReport(stdout: string): Packed {
  const start = stdout.search(/^\[/m);
  if (start < 0) throw new Error(`npm pack printed no JSON:\n${stdout}`);
  const [report] = JSON.parse(stdout.slice(start)) as Packed[];
  if (!report) throw new Error('npm pack reported no package');
  return report;
}
