/**
 * The built CLI (dist/cli.mjs) as a user runs it: a child process, its exit code and streams; its
 * calls to moto are the person's, held to the read policy (infra/user-policy.json) by the IAM
 * audit. The demo talks only to the moto it starts itself, which the audit does not see.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';
import { describe as describeInstance, putParameter, runInstance, useMoto } from '../support/moto.js';
import { CLI_BUNDLE, publish, runBuilt, runCommand, tempDir } from '../support/cli.js';
import { useIamAudit, USER_ACCESS_KEY, USER_POLICIES } from '../support/iam-audit.js';

/** A clean environment: no settings or credentials from the machine running the tests. */
function baseEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: tempDir(),
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...extra,
  };
}

/** Whether a process (or, for a negative pid, a process group) still exists; a zombie counts as gone. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (pid < 0) return true;
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('node dist/cli.mjs', () => {
  const aws = useMoto();
  // The person's calls only: the Lambda publishing first is its role's, audited in its own tests.
  useIamAudit('cli', { accessKeyId: USER_ACCESS_KEY, policies: [USER_POLICIES.read] });
  // Through the audit's proxy, which useIamAudit put in the environment.
  const motoEnv = () => baseEnv({ AWS_ENDPOINT_URL: process.env.AWS_ENDPOINT_URL ?? aws.endpoint, AWS_ACCESS_KEY_ID: USER_ACCESS_KEY, AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' });

  describe('against moto', () => {
    let web: string;
    beforeEach(async () => {
      web = await runInstance({ tags: { 'ec2ip:name': 'web' } });
      await publish({}, [web]);
    });

    it('prints the public IP of `get`, and exit code 0', async () => {
      const { PublicIpAddress } = await describeInstance(web);
      expect(await runBuilt(['get', 'web'], motoEnv())).toEqual({ code: 0, stdout: `${PublicIpAddress}\n`, stderr: '' });
    });

    it('exits 1 for an unknown name', async () => {
      const ran = await runBuilt(['get', 'db'], motoEnv());
      expect(ran.code).toBe(1);
      expect(ran.stdout).toBe('');
      expect(ran.stderr).toContain('no instance named db');
    });
  });

  describe("without the SDK's warning switch in the environment (a user's shell)", () => {
    const userEnv = () => {
      const env = motoEnv();
      delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
      return env;
    };
    const major = Number(process.versions.node.split('.')[0]);

    it('the SDK itself warns on Node 20 (the control: this is what the CLI must not print)', async () => {
      const probe = "import('@aws-sdk/client-ssm').then((m) => new m.SSMClient({ region: 'us-east-1' }))";
      const ran = await runCommand(process.execPath, ['--input-type=module', '-e', probe], { ...userEnv(), NODE_PATH: '' });
      expect(ran.code, ran.stderr).toBe(0);
      expect(ran.stderr.includes('NodeVersionSupportWarning'), `node ${process.version}: ${ran.stderr}`).toBe(major < 22);
    });

    it('`ec2ip get web` writes the address and nothing to stderr', async () => {
      await putParameter('/ec2ip/web/instance-id', 'i-0123456789abcdef0');
      await putParameter('/ec2ip/web/public-ip', '198.51.100.20');
      expect(await runBuilt(['get', 'web'], userEnv())).toEqual({ code: 0, stdout: '198.51.100.20\n', stderr: '' });
      const listed = await runBuilt(['list'], userEnv());
      expect(listed.code).toBe(0);
      expect(listed.stderr).toBe('');
    });
  });

  it('exits 2 with a usage message for bad arguments', async () => {
    const [none, unknown, flag] = await Promise.all([runBuilt([], motoEnv()), runBuilt(['frobnicate'], motoEnv()), runBuilt(['list', '--bogus'], motoEnv())]);
    expect(none.code).toBe(2);
    expect(none.stdout).toContain('Usage: ec2ip <command>');
    expect(unknown).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown command "frobnicate"') });
    expect(flag).toMatchObject({ code: 2, stderr: expect.stringContaining("Unknown option '--bogus'") });
  });

  it('exits 2 with what to do when there are no credentials', async () => {
    const ran = await runBuilt(['get', 'web', '--region', 'us-east-1'], baseEnv());
    expect(ran.code).toBe(2);
    expect(ran.stderr).toMatch(/^ec2ip get: no usable AWS credentials while .*aws configure/);
  });

  it('exits 2 when no region is known', async () => {
    const ran = await runBuilt(['list'], baseEnv({ AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' }));
    expect(ran).toMatchObject({ code: 2, stderr: expect.stringContaining('no AWS region: pass --region') });
  });

  describe('demo', () => {
    it('runs the whole flow on its own moto and leaves nothing running', async () => {
      const ran = await runBuilt(['demo'], baseEnv(), 90_000);
      expect(ran.stderr).toMatch(/moto_server pid \d+ listening on http:\/\/127\.0\.0\.1:\d+/);
      expect(ran.code, ran.stderr).toBe(0);
      for (let step = 1; step <= 6; step++) expect(ran.stdout).toContain(`[${step}/6]`);
      // Every table shows DNS and SSM current for the tagged instances, except the one after the missed events.
      const verdicts = ran.stdout.split('\n').filter((l) => /^(web|api) /.test(l)).map((l) => l.trim().split(/ {2,}/).at(-1));
      expect(verdicts.filter((v) => v === 'NO')).toHaveLength(1);
      expect(verdicts.filter((v) => v === 'yes').length).toBeGreaterThanOrEqual(9);
      expect(ran.stdout).toContain('the Lambda refused mail in example.com');
      expect(ran.stdout).toMatch(/scratch \(untagged\) +running .* untouched/);
      expect(ran.stdout).toContain('Done in');
      // The handler's JSON log and metric lines stay out of the demo.
      expect(ran.stdout.split('\n').filter((l) => l.trimStart().startsWith('{'))).toEqual([]);

      const pid = Number(/moto_server pid (\d+)/.exec(ran.stderr)?.[1]);
      expect(alive(pid)).toBe(false);
      expect(alive(-pid)).toBe(false);
      const port = /127\.0\.0\.1:(\d+)/.exec(ran.stderr)?.[1];
      await expect(fetch(`http://127.0.0.1:${port}/moto-api/`, { signal: AbortSignal.timeout(2_000) })).rejects.toThrow();
    }, 120_000);

    it('stops moto when interrupted', async () => {
      const child = spawn(process.execPath, [CLI_BUNDLE, 'demo'], { env: baseEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
      const pid = await new Promise<number>((resolve, reject) => {
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
          const match = /moto_server pid (\d+)/.exec(stderr);
          if (match) resolve(Number(match[1]));
        });
        child.once('exit', () => reject(new Error(`the demo ended before starting moto: ${stderr}`)));
      });
      expect(alive(pid)).toBe(true);
      child.kill('SIGINT');
      expect(await exited).toBe('SIGINT');
      await new Promise((r) => setTimeout(r, 200));
      expect(alive(pid)).toBe(false);
      expect(alive(-pid)).toBe(false);
    }, 60_000);

    it('exits 1 with how to install moto when moto_server is missing', async () => {
      const ran = await runBuilt(['demo'], baseEnv({ MOTO_SERVER: '/nonexistent/moto_server' }));
      expect(ran.code).toBe(1);
      expect(ran.stderr).toContain('pip install "moto[server]"');
    });
  });
});
