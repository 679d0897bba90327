/**
 * The settings beside Config: EC2IP_REQUEST_TIMEOUT_MS, EC2IP_PUT_PARAMETER_RATE, LOG_LEVEL
 * and the hub's SPOKE_STACK_SET_CALL_AS. Each is read once by core/config.ts, refused by name
 * with the value as given, and reaches the code that uses it as a typed value; on the command
 * line a bad one exits 2 before any AWS call.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { EC2Client } from '@aws-sdk/client-ec2';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { clientConfig } from '../../functions/adapters/clients.js';
import { readConfig, readLogLevel, readRuntime } from '../../functions/core/config.js';
import { ConfigError } from '../../functions/core/errors.js';
import { createLogger } from '../../functions/core/log.js';
import { createHubDeps } from '../../functions/sync/hub.js';
import type { Io } from '../../scripts/cli/io.js';
import { main } from '../../scripts/cli/main.js';
import { hubParametersFromFlags } from '../../scripts/deploy/hub-parameters.js';
import { planSpokes } from '../../scripts/deploy/stackset.js';

const HUB = { AWS_REGION: 'eu-central-1', SPOKE_ROLE_NAME: 'ec2ip-spoke', SPOKE_EXTERNAL_ID: 'xid-123', SPOKE_STACK_SET: 'ec2ip-spokes' };

describe('readRuntime', () => {
  it('applies the defaults: 5000 ms and 3 puts per second', () => {
    expect(readRuntime({})).toEqual({ requestTimeoutMs: 5000, putParameterRate: 3 });
    expect(readRuntime({ EC2IP_REQUEST_TIMEOUT_MS: ' ', EC2IP_PUT_PARAMETER_RATE: '' })).toEqual({ requestTimeoutMs: 5000, putParameterRate: 3 });
  });

  it('reads a whole number of milliseconds and a rate with a fraction', () => {
    expect(readRuntime({ EC2IP_REQUEST_TIMEOUT_MS: '1500', EC2IP_PUT_PARAMETER_RATE: '1.5' })).toEqual({ requestTimeoutMs: 1500, putParameterRate: 1.5 });
    expect(readRuntime({ EC2IP_REQUEST_TIMEOUT_MS: ' 20000 ', EC2IP_PUT_PARAMETER_RATE: '40' })).toEqual({ requestTimeoutMs: 20000, putParameterRate: 40 });
  });

  it.each(['abc', '5s', '0', '-1', '1.5', '1e4', 'NaN', 'Infinity', '99999999999'])('refuses EC2IP_REQUEST_TIMEOUT_MS=%s, quoting it', (value) => {
    expect(() => readRuntime({ EC2IP_REQUEST_TIMEOUT_MS: value })).toThrow(
      new ConfigError(`EC2IP_REQUEST_TIMEOUT_MS="${value}" is not a timeout: give a whole number of milliseconds from 1, e.g. 5000`),
    );
  });

  it.each(['abc', '0', '0.0', '-3', '3/s', '1e3', 'NaN', 'Infinity'])('refuses EC2IP_PUT_PARAMETER_RATE=%s, quoting it (not "NaN")', (value) => {
    expect(() => readRuntime({ EC2IP_PUT_PARAMETER_RATE: value })).toThrow(`EC2IP_PUT_PARAMETER_RATE="${value}" is not a rate: give PutParameter calls per second, a number above 0`);
  });
});

describe('readLogLevel', () => {
  it('is INFO by default, reads LOG_LEVEL in any case, and prefers it to Lambda\'s level', () => {
    expect(readLogLevel({})).toBe('INFO');
    expect(readLogLevel({ LOG_LEVEL: 'debug' })).toBe('DEBUG');
    expect(readLogLevel({ LOG_LEVEL: 'Warn', AWS_LAMBDA_LOG_LEVEL: 'DEBUG' })).toBe('WARN');
  });

  it.each([
    ['TRACE', 'DEBUG'],
    ['DEBUG', 'DEBUG'],
    ['INFO', 'INFO'],
    ['WARN', 'WARN'],
    ['ERROR', 'ERROR'],
    ['FATAL', 'ERROR'],
  ])('maps Lambda\'s AWS_LAMBDA_LOG_LEVEL=%s to %s', (lambda, level) => {
    expect(readLogLevel({ AWS_LAMBDA_LOG_LEVEL: lambda })).toBe(level);
  });

  it.each(['bogus', 'verbose', 'TRACE', '10'])('refuses LOG_LEVEL=%s, quoting it', (value) => {
    expect(() => readLogLevel({ LOG_LEVEL: value })).toThrow(new ConfigError(`LOG_LEVEL="${value}" is not a log level: use DEBUG, INFO, WARN or ERROR`));
  });

  it('refuses an AWS_LAMBDA_LOG_LEVEL Lambda never sets', () => {
    expect(() => readLogLevel({ AWS_LAMBDA_LOG_LEVEL: 'LOUD' })).toThrow(/^AWS_LAMBDA_LOG_LEVEL="LOUD" is not a log level/);
  });

  it('drops the lines below the level it is given', () => {
    const lines: string[] = [];
    const log = createLogger({}, { level: readLogLevel({ LOG_LEVEL: 'warn' }), write: (line) => lines.push(JSON.parse(line).message) });
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    expect(lines).toEqual(['w', 'e']);
  });
});

describe('SPOKE_STACK_SET_CALL_AS', () => {
  it('sets callAs for DELEGATED_ADMIN only; SELF (hub.yaml\'s default) and unset leave it out', () => {
    expect(readConfig({ ...HUB, SPOKE_STACK_SET_CALL_AS: 'DELEGATED_ADMIN' }).hub?.callAs).toBe('DELEGATED_ADMIN');
    expect(readConfig({ ...HUB, SPOKE_STACK_SET_CALL_AS: 'delegated_admin' }).hub?.callAs).toBe('DELEGATED_ADMIN');
    expect(readConfig({ ...HUB, SPOKE_STACK_SET_CALL_AS: 'SELF' }).hub).not.toHaveProperty('callAs');
    expect(readConfig(HUB).hub).not.toHaveProperty('callAs');
    // Single-account mode with hub.yaml's default is not a stray hub setting.
    expect(readConfig({ AWS_REGION: 'us-east-1', SPOKE_STACK_SET_CALL_AS: 'SELF' }).hub).toBeUndefined();
  });

  it.each([
    [HUB, 'DELEGATED-ADMIN'],
    [HUB, 'ADMIN'],
    [{ AWS_REGION: 'us-east-1' }, 'delegated'],
  ])('refuses %j with SPOKE_STACK_SET_CALL_AS=%s, quoting it', (env, value) => {
    expect(() => readConfig({ ...env, SPOKE_STACK_SET_CALL_AS: value })).toThrow(`SPOKE_STACK_SET_CALL_AS="${value}" is not supported: use "SELF"`);
  });
});

describe("deploy's SPOKE_EXTERNAL_ID, the default of --spoke-external-id", () => {
  const spokes = { 'hub-event-bus-arn': 'arn:aws:events:us-east-1:123456789012:event-bus/ec2ip-spokes', 'hub-function-role-arn': 'arn:aws:iam::123456789012:role/ec2ip-hub-us-east-1', regions: 'us-east-1', accounts: '111111111111' };

  it('is read through core/config.ts when the flag is not given; the flag wins', () => {
    expect(hubParametersFromFlags({ hub: true }, { SPOKE_EXTERNAL_ID: ' xid-123 ' }).SpokeExternalId).toBe('xid-123');
    expect(hubParametersFromFlags({ hub: true, 'spoke-external-id': 'from-flag' }, { SPOKE_EXTERNAL_ID: 'x' }).SpokeExternalId).toBe('from-flag');
    expect(hubParametersFromFlags({ hub: true }, { SPOKE_EXTERNAL_ID: '' }).SpokeExternalId).toBeUndefined();
    expect(planSpokes(spokes, { SPOKE_EXTERNAL_ID: 'xid-123' }).parameters).toContainEqual({ ParameterKey: 'ExternalId', ParameterValue: 'xid-123' });
  });

  it('is refused by name when it is not usable', () => {
    expect(() => hubParametersFromFlags({ hub: true }, { SPOKE_EXTERNAL_ID: 'x' })).toThrow(/^SPOKE_EXTERNAL_ID="x" is not usable: /);
    expect(() => planSpokes(spokes, { SPOKE_EXTERNAL_ID: 'a b' })).toThrow(/^SPOKE_EXTERNAL_ID="a b" is not usable: /);
  });
});

describe('the typed values reach the clients and the hub', () => {
  it('gives every SDK client the request timeout, thrown on expiry', () => {
    const { requestTimeoutMs } = readRuntime({ EC2IP_REQUEST_TIMEOUT_MS: '1234' });
    expect(clientConfig({}, { region: 'us-east-1', requestTimeoutMs }).requestHandler).toEqual({ requestTimeout: 1234, connectionTimeout: 1234, throwOnRequestTimeout: true });
    expect(clientConfig({}, { requestTimeoutMs: 20000 }).requestHandler).toEqual({ requestTimeout: 20000, connectionTimeout: 3000, throwOnRequestTimeout: true });
  });

  describe("the hub's StackSet listing", () => {
    let server: Server;
    const received: string[] = [];
    let stall = false;
    const page = '<ListStackInstancesResponse><ListStackInstancesResult><Summaries><member><Region>us-east-1</Region><Account>111111111111</Account></member></Summaries></ListStackInstancesResult></ListStackInstancesResponse>';
    beforeAll(async () => {
      server = createServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          received.push(body);
          if (stall) return; // never answers: only the request timeout ends the call
          res.writeHead(200, { 'content-type': 'text/xml' });
          res.end(page);
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });
    afterAll(() => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    });
    beforeEach(() => {
      received.length = 0;
      stall = false;
      // The hub's STS client takes the environment's credentials (fromEnv reads process.env).
      vi.stubEnv('AWS_ACCESS_KEY_ID', 'AK');
      vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'S');
      return () => vi.unstubAllEnvs();
    });
    const env = () => ({ AWS_ENDPOINT_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, AWS_ACCESS_KEY_ID: 'AK', AWS_SECRET_ACCESS_KEY: 'S' });
    const depsOf = (extra: Record<string, string>) => {
      const all = { ...HUB, ...env(), ...extra };
      const config = readConfig(all);
      if (!config.hub) throw new Error('no hub configuration');
      return createHubDeps(config, config.hub, readRuntime(all), all);
    };

    it('lists the StackSet as its delegated administrator when SPOKE_STACK_SET_CALL_AS says so, and as itself otherwise', async () => {
      expect(await depsOf({ SPOKE_STACK_SET_CALL_AS: 'DELEGATED_ADMIN' }).spokes()).toEqual([{ account: '111111111111', region: 'us-east-1' }]);
      expect(await depsOf({ SPOKE_STACK_SET_CALL_AS: 'SELF' }).spokes()).toEqual([{ account: '111111111111', region: 'us-east-1' }]);
      expect(received).toEqual([
        'Action=ListStackInstances&Version=2010-05-15&StackSetName=ec2ip-spokes&CallAs=DELEGATED_ADMIN',
        'Action=ListStackInstances&Version=2010-05-15&StackSetName=ec2ip-spokes',
      ]);
    });

    it('gives up on a stalled listing after EC2IP_REQUEST_TIMEOUT_MS', async () => {
      stall = true;
      const started = Date.now();
      await expect(depsOf({ EC2IP_REQUEST_TIMEOUT_MS: '300' }).spokes()).rejects.toThrow(/timeout|aborted/i);
      // Far below the 5 s default: the configured value, not the default, ended the call.
      expect(Date.now() - started).toBeLessThan(4000);
      expect(received).toHaveLength(1);
    });
  });
});

describe('the CLI exits 2 on a bad setting, before any AWS call', () => {
  const ssm = mockClient(SSMClient);
  const mocks = [mockClient(EC2Client), mockClient(Route53Client), ssm, mockClient(CloudFormationClient)];
  beforeEach(() => mocks.forEach((m) => m.reset()));
  const calls = () => mocks.reduce((n, m) => n + m.calls().length, 0);

  async function run(args: string[], env: Record<string, string>) {
    let stdout = '';
    let stderr = '';
    const io: Io = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'AK', AWS_SECRET_ACCESS_KEY: 'S', ...env }, cwd: tmpdir() };
    return { code: await main(args, io), stdout, stderr };
  }

  const commands = [['get', 'web'], ['list'], ['ssh-config'], ['putty', '--format', 'unix'], ['known-hosts'], ['plan'], ['reconcile']];

  it.each(commands)('%s: a bad EC2IP_REQUEST_TIMEOUT_MS', async (...args) => {
    const ran = await run(args, { EC2IP_REQUEST_TIMEOUT_MS: 'abc' });
    expect(ran).toMatchObject({ code: 2, stdout: '' });
    expect(ran.stderr).toBe(`ec2ip ${args[0]}: EC2IP_REQUEST_TIMEOUT_MS="abc" is not a timeout: give a whole number of milliseconds from 1, e.g. 5000\n`);
    expect(calls()).toBe(0);
  });

  it.each(commands)('%s: a bad EC2IP_PUT_PARAMETER_RATE', async (...args) => {
    const ran = await run(args, { EC2IP_PUT_PARAMETER_RATE: 'abc' });
    expect(ran).toMatchObject({ code: 2, stdout: '' });
    expect(ran.stderr).toContain(`ec2ip ${args[0]}: EC2IP_PUT_PARAMETER_RATE="abc" is not a rate`);
    expect(calls()).toBe(0);
  });

  it.each([['plan'], ['reconcile'], ['list', '--hub', '--hosted-zone-id', 'Z1']])('%s: a bad SPOKE_STACK_SET_CALL_AS of the hub', async (...args) => {
    const ran = await run(args, { ...HUB, HOSTED_ZONE_ID: 'Z1', SPOKE_STACK_SET_CALL_AS: 'ADMIN' });
    expect(ran).toMatchObject({ code: 2, stdout: '' });
    expect(ran.stderr).toContain(`ec2ip ${args[0]}: SPOKE_STACK_SET_CALL_AS="ADMIN" is not supported`);
    expect(calls()).toBe(0);
  });

  it('does not read LOG_LEVEL, a common name in a shell: the CLI has --verbose', async () => {
    ssm.onAnyCommand().resolves({ Parameter: { Name: '/ec2ip/web/public-ip', Value: '198.51.100.7' } });
    const ran = await run(['get', 'web', '--prefix', '/ec2ip'], { LOG_LEVEL: 'trace' });
    expect(ran).toEqual({ code: 0, stdout: '198.51.100.7\n', stderr: '' });
  });

  it('deploy: a bad SPOKE_EXTERNAL_ID for --hub, before anything is built', async () => {
    const externalId = await run(['deploy', '--hub', '--dry-run'], { SPOKE_EXTERNAL_ID: 'x' });
    expect(externalId).toMatchObject({ code: 2, stdout: '' });
    expect(externalId.stderr).toMatch(/^ec2ip deploy: SPOKE_EXTERNAL_ID="x" is not usable: /);
    expect(calls()).toBe(0);
  });
});
