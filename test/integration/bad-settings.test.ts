/**
 * A bad setting, as the built artefacts meet it: the Lambda bundle (dist/sync/index.mjs) fails
 * its module load with a ConfigError naming the variable and quoting the value (Lambda reports
 * an init error), and the built CLI (dist/cli.mjs) exits 2 with the same message. Each runs in
 * a child process with only the environment given here. Needs `npm run build`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BUNDLE } from '../support/moto.js';

const CLI = fileURLToPath(new URL('../../dist/cli.mjs', import.meta.url));
// Nothing answers here: a test that got as far as an AWS call would fail to connect, not hang.
const BASE = { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_ENDPOINT_URL: 'http://127.0.0.1:9', AWS_MAX_ATTEMPTS: '1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

/** Imports the bundle in a fresh Node with `env` and reports how the load went. */
function loadBundle(env: Record<string, string>) {
  const bundle = fileURLToPath(BUNDLE);
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run \`npm run build\` first`);
  const code = `const m = await import(${JSON.stringify(pathToFileURL(bundle).href)}); console.log('loaded', typeof m.handler);`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', code], { env: { ...BASE, ...env }, encoding: 'utf8', timeout: 60_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

function runCli(args: string[], env: Record<string, string>) {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  const run = spawnSync(process.execPath, [CLI, ...args], { env: { ...BASE, ...env }, encoding: 'utf8', timeout: 60_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

const HUB = { SPOKE_ROLE_NAME: 'ec2ip-spoke', SPOKE_EXTERNAL_ID: 'xid-123', SPOKE_STACK_SET: 'ec2ip-spokes', HOSTED_ZONE_ID: 'Z1' };

const BAD: [string, Record<string, string>, string][] = [
  ['EC2IP_REQUEST_TIMEOUT_MS', { EC2IP_REQUEST_TIMEOUT_MS: 'abc' }, 'EC2IP_REQUEST_TIMEOUT_MS="abc" is not a timeout: give a whole number of milliseconds'],
  ['LOG_LEVEL', { LOG_LEVEL: 'bogus' }, 'LOG_LEVEL="bogus" is not a log level: use DEBUG, INFO, WARN or ERROR'],
  ['EC2IP_PUT_PARAMETER_RATE', { EC2IP_PUT_PARAMETER_RATE: 'abc' }, 'EC2IP_PUT_PARAMETER_RATE="abc" is not a rate: give PutParameter calls per second'],
  ['SPOKE_STACK_SET_CALL_AS', { ...HUB, SPOKE_STACK_SET_CALL_AS: 'ADMIN' }, 'SPOKE_STACK_SET_CALL_AS="ADMIN" is not supported: use "SELF"'],
];

describe('the Lambda bundle refuses a bad setting at load', () => {
  it('loads with good settings (the control)', () => {
    const run = loadBundle({ EC2IP_REQUEST_TIMEOUT_MS: '3000', LOG_LEVEL: 'debug', EC2IP_PUT_PARAMETER_RATE: '1.5', ...HUB, SPOKE_STACK_SET_CALL_AS: 'DELEGATED_ADMIN' });
    expect(run).toMatchObject({ status: 0, stdout: 'loaded function\n' });
  });

  it.each(BAD)('%s', (_name, env, message) => {
    const run = loadBundle(env);
    expect(run.status).not.toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(message);
    expect(run.stderr).toMatch(/ConfigError/);
  });
});

describe('the built CLI exits 2 on a bad setting', () => {
  // The CLI does not read LOG_LEVEL (it has --verbose).
  it.each(BAD.filter(([name]) => name !== 'LOG_LEVEL'))('%s', (_name, env, message) => {
    const run = runCli(['plan'], env);
    expect(run).toMatchObject({ status: 2, stdout: '' });
    expect(run.stderr.split('\n')).toEqual([expect.stringMatching(new RegExp(`^ec2ip plan: ${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`)), '']);
  });
});
