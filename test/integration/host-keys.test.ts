/**
 * Host keys recorded at first sight, on moto: the function (real code, real SDK, over HTTP
 * through the test proxy, which answers GetConsoleOutput as EC2 does since moto has no
 * cloud-init console) looks at the console at the running event and at later reconciles,
 * records the keys when they show, gives up after the first 20 minutes with one log line, and
 * never stores a second, different block. Then `ec2ip known-hosts --via ssm` (the built CLI)
 * with Run Command answered as SSM does, since moto runs no command.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createClients } from '../../functions/adapters/clients.js';
import { readConfig, readRuntime } from '../../functions/core/config.js';
import { formatHostKeyRecord, parseHostKeyRecord } from '../../functions/core/host-keys.js';
import { createLogger } from '../../functions/core/log.js';
import { Metrics } from '../../functions/core/metrics.js';
import { createHandler } from '../../functions/sync/handler.js';
import { commandInvocationAnswer, consoleAnswer, consoleWith, consoleWithoutKeys, runCommandOutput, sendCommandAnswer, ssmError } from '../support/aws-answers.js';
import { countCalls, startProxy, type Answer, type AwsProxy } from '../support/aws-proxy.js';
import { runBuilt, tempDir } from '../support/cli.js';
import { scheduledEvent, sqsEvent, stateChangeEvent } from '../support/events.js';
import { cleanEnv } from '../support/installed.js';
import { ACCOUNT_A, deploySpokeStack, hubEnv, runSpokeInstance, spokeClients, spokeParameters } from '../support/hub.js';
import { useIamAudit, USER_ACCESS_KEY, USER_POLICIES } from '../support/iam-audit.js';
import { createZone, getParameters, loadHandler, putParameter, runInstance, useMoto } from '../support/moto.js';
import { captureStdout } from '../support/output.js';
import { keygen } from '../support/sshd.js';

const MINUTE = 60_000;
type Respond = (request: { service: string; action: string; body: string }) => Answer | undefined;

describe('host keys recorded at first sight', () => {
  const aws = useMoto();
  // Only `ec2ip known-hosts --via ssm`'s calls, signed with the person's key, are evaluated: against the policies docs/connecting.md quotes.
  const audit = useIamAudit('cli', { accessKeyId: USER_ACCESS_KEY, policies: [USER_POLICIES.read, USER_POLICIES.connect, USER_POLICIES.hostKeysSsm] });
  let keys: string[];
  let otherKeys: string[];
  let proxy: AwsProxy;
  let respond: Respond;
  let offset: number;
  const saved = process.env.AWS_ENDPOINT_URL;

  beforeAll(async () => {
    const dir = tempDir();
    keys = (await Promise.all((['ed25519', 'ecdsa', 'rsa'] as const).map((t) => keygen(join(dir, `a_${t}`), t)))).map((l) => l.split(' ').slice(0, 2).join(' '));
    otherKeys = (await Promise.all((['ed25519', 'ecdsa'] as const).map((t) => keygen(join(dir, `b_${t}`), t)))).map((l) => l.split(' ').slice(0, 2).join(' '));
  });

  beforeEach(async () => {
    offset = 0;
    respond = () => undefined;
    proxy = await startProxy({ ...audit.hooks, target: aws.endpoint, respond: (r) => respond(r) });
    // The function's clients take their endpoint from the SDK's standard environment.
    process.env.AWS_ENDPOINT_URL = proxy.url;
  });

  afterEach(async () => {
    process.env.AWS_ENDPOINT_URL = saved;
    await proxy.stop();
  });

  /** The Lambda's handler, built as index.ts builds it, with a clock the test moves and its log lines kept. */
  function lambda() {
    const env = { ...process.env, PARAMETER_PREFIX: '/ec2ip' };
    const config = readConfig(env);
    const logs: { level: string; message: string; [k: string]: unknown }[] = [];
    const handler = createHandler({
      clients: createClients(env, { region: config.region, requestTimeoutMs: readRuntime(env).requestTimeoutMs }),
      config,
      log: createLogger({}, { write: (line) => logs.push(JSON.parse(line)) }),
      metrics: new Metrics('ec2ip', 'ec2ip'),
      zoneNames: new Map(),
      hostKeys: { now: () => Date.now() + offset },
    });
    const invoke = async (event: unknown) => (await captureStdout(() => handler(event))).result;
    return { invoke, logs };
  }

  const looks = () => countCalls(proxy.requests)['ec2:GetConsoleOutput'] ?? 0;
  const record = async () => (await getParameters('/ec2ip'))['/ec2ip/web/host-keys'];

  it('records the keys at the third look, when the console first shows them, and never reads the console again', async () => {
    const web = await runInstance({ tags: { 'ec2ip:name': 'web' } });
    let n = 0;
    respond = ({ service, action, body }) => {
      if (service !== 'ec2' || action !== 'GetConsoleOutput') return undefined;
      n++;
      return consoleAnswer(new URLSearchParams(body).get('InstanceId') ?? '', n >= 3 ? consoleWith(keys) : consoleWithoutKeys());
    };
    const fn = lambda();

    // The running event publishes and is done; it does not look (cloud-init prints the keys later).
    expect(await fn.invoke(sqsEvent([stateChangeEvent(web, 'running')]))).toEqual({ batchItemFailures: [] });
    expect(looks()).toBe(0);
    for (const [minutes, n] of [[1, 1], [6, 2]] as const) {
      offset = minutes * MINUTE;
      await fn.invoke(scheduledEvent());
      expect(looks()).toBe(n);
      expect(await record()).toBeUndefined();
    }
    offset = 12 * MINUTE;
    await fn.invoke(scheduledEvent());
    expect(looks()).toBe(3);

    const value = await record();
    expect(value).toBeDefined();
    const parsed = parseHostKeyRecord(value as string);
    expect('record' in parsed && parsed.record).toMatchObject({ instance: web, source: 'console' });
    expect('record' in parsed && parsed.record.keys.map((k) => `${k.type} ${k.base64}`)).toEqual(keys);
    expect(fn.logs.filter((l) => l.message === 'host keys recorded')).toHaveLength(1);

    // Recorded: later syncs, events or reconciles, make no GetConsoleOutput call and leave the record as it is.
    offset = 14 * MINUTE;
    await fn.invoke(sqsEvent([stateChangeEvent(web, 'running')]));
    await fn.invoke(scheduledEvent());
    expect(looks()).toBe(3);
    expect(await record()).toBe(value);
  });

  it('looks during the first 20 minutes, then gives up with one log line and looks no more', async () => {
    const web = await runInstance({ tags: { 'ec2ip:name': 'web' } });
    respond = ({ service, action, body }) => (service === 'ec2' && action === 'GetConsoleOutput' ? consoleAnswer(new URLSearchParams(body).get('InstanceId') ?? '', consoleWithoutKeys()) : undefined);
    const fn = lambda();

    expect(await fn.invoke(sqsEvent([stateChangeEvent(web, 'running')]))).toEqual({ batchItemFailures: [] });
    for (const minutes of [1, 8, 16]) {
      offset = minutes * MINUTE;
      await fn.invoke(scheduledEvent());
    }
    expect(looks()).toBe(3);
    expect(await record()).toBeUndefined();
    expect(fn.logs.filter((l) => /gave up/.test(l.message))).toHaveLength(0);

    offset = 21 * MINUTE;
    await fn.invoke(scheduledEvent());
    offset = 36 * MINUTE;
    await fn.invoke(scheduledEvent());
    await fn.invoke(sqsEvent([stateChangeEvent(web, 'running')]));
    expect(looks()).toBe(3);
    const gaveUp = fn.logs.filter((l) => /gave up/.test(l.message));
    expect(gaveUp).toHaveLength(1);
    expect(gaveUp[0]).toMatchObject({ level: 'WARN', instanceId: web, name: 'web', parameter: '/ec2ip/web/host-keys' });
    expect(String(gaveUp[0]?.reason)).toContain('ec2ip known-hosts --via ssm web');
    const parsed = parseHostKeyRecord((await record()) as string);
    expect('record' in parsed && parsed.record).toMatchObject({ instance: web, source: 'none', keys: [] });
  });

  it('does not store a second, different key block for the same instance, and says so loudly', async () => {
    const web = await runInstance({ tags: { 'ec2ip:name': 'web' } });
    const theirs = formatHostKeyRecord({ instance: web, source: 'console', recordedAt: new Date().toISOString(), keys: otherKeys.map((l) => ({ type: l.split(' ')[0] as string, base64: l.split(' ')[1] as string })) }) as string;
    // Another invocation records its block while this one reads the console: its write lands
    // first (this run's PutParameter calls are held back a little).
    let raced: Promise<void> | undefined;
    proxy.setOptions({ delayMs: (r) => (r.service === 'ssm' && r.action === 'PutParameter' ? 400 : 0) });
    respond = ({ service, action, body }) => {
      if (service !== 'ec2' || action !== 'GetConsoleOutput') return undefined;
      raced ??= putParameter('/ec2ip/web/host-keys', theirs);
      return consoleAnswer(new URLSearchParams(body).get('InstanceId') ?? '', consoleWith(keys));
    };
    const fn = lambda();
    offset = 2 * MINUTE;
    await fn.invoke(scheduledEvent());
    await raced;

    expect(await record()).toBe(theirs);
    const loud = fn.logs.filter((l) => l.message === 'HOST KEYS DIFFER: not stored');
    expect(loud).toHaveLength(1);
    expect(loud[0]).toMatchObject({ level: 'ERROR', instanceId: web, parameter: '/ec2ip/web/host-keys' });
    expect(fn.logs.filter((l) => l.message === 'host keys recorded')).toHaveLength(0);

    // The record stays; the console is not read again for this instance.
    proxy.setOptions({ delayMs: 0 });
    await fn.invoke(scheduledEvent());
    expect(looks()).toBe(1);
    expect(await record()).toBe(theirs);
  });

  it('replaces a record left by the name\'s previous owner and records the new owner\'s keys', async () => {
    const web = await runInstance({ tags: { 'ec2ip:name': 'web' } });
    const stale = formatHostKeyRecord({ instance: 'i-0123456789abcdef0', source: 'console', recordedAt: '2024-01-01T00:00:00.000Z', keys: otherKeys.map((l) => ({ type: l.split(' ')[0] as string, base64: l.split(' ')[1] as string })) }) as string;
    await Promise.all([putParameter('/ec2ip/web/instance-id', web), putParameter('/ec2ip/web/host-keys', stale)]);
    respond = ({ service, action, body }) => (service === 'ec2' && action === 'GetConsoleOutput' ? consoleAnswer(new URLSearchParams(body).get('InstanceId') ?? '', consoleWith(keys)) : undefined);
    const fn = lambda();
    // The stale record goes, and the new owner's keys are recorded after it, in one run.
    await fn.invoke(scheduledEvent());
    const parsed = parseHostKeyRecord((await record()) as string);
    expect('record' in parsed && parsed.record.instance).toBe(web);
    expect('record' in parsed && parsed.record.keys.map((k) => `${k.type} ${k.base64}`)).toEqual(keys);
  });

  it('in a hub, records the keys of a spoke\'s instance in the spoke account\'s parameters', async () => {
    const spoke = { account: ACCOUNT_A, region: 'us-east-1' };
    const zone = await createZone('example.com');
    const clients = await spokeClients(spoke);
    await deploySpokeStack(clients);
    const web = await runSpokeInstance(clients, { 'ec2ip:name': 'web' });
    const asked: string[] = [];
    respond = ({ service, action, body }) => {
      if (service !== 'ec2' || action !== 'GetConsoleOutput') return undefined;
      asked.push(new URLSearchParams(body).get('InstanceId') ?? '');
      return consoleAnswer(asked.at(-1) as string, consoleWith(keys));
    };
    const saved = { ...process.env };
    try {
      // The built hub function, as deployed: its calls into the spoke go through the spoke role.
      const hub = await loadHandler({ ...hubEnv(zone, [spoke]), AWS_ENDPOINT_URL: proxy.url });
      expect((await captureStdout(() => hub(scheduledEvent()))).result).toEqual({ status: 'done', items: 1 });
    } finally {
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    }
    expect(asked).toEqual([web]);
    const inSpoke = await spokeParameters(clients);
    const parsed = parseHostKeyRecord(inSpoke['/ec2ip/web/host-keys'] as string);
    expect('record' in parsed && parsed.record).toMatchObject({ instance: web, source: 'console' });
    // Nothing in the hub's own account.
    expect(await getParameters('/ec2ip')).toEqual({});
  });

  describe('ec2ip known-hosts --via ssm', () => {
    const ec2ip = (args: string[]) => runBuilt(args, cleanEnv({ HOME: tempDir(), AWS_ENDPOINT_URL: proxy.url, AWS_ACCESS_KEY_ID: USER_ACCESS_KEY, AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' }), 60_000);

    /** Run Command answered as SSM does: SendCommand, then one InProgress poll, then `final`. */
    function runCommand(final: (commandId: string, instanceId: string) => Answer, sent: string[]) {
      const polls = new Map<string, number>();
      return ({ service, action, body }: { service: string; action: string; body: string }): Answer | undefined => {
        if (service === 'ec2' && action === 'GetConsoleOutput') return consoleAnswer(new URLSearchParams(body).get('InstanceId') ?? '', consoleWithoutKeys());
        if (service !== 'ssm') return undefined;
        if (action === 'SendCommand') {
          sent.push(body);
          return sendCommandAnswer(randomUUID(), body);
        }
        if (action === 'GetCommandInvocation') {
          const { CommandId, InstanceId } = JSON.parse(body) as { CommandId: string; InstanceId: string };
          const n = (polls.get(CommandId) ?? 0) + 1;
          polls.set(CommandId, n);
          return n === 1 ? commandInvocationAnswer(CommandId, InstanceId, 'InProgress') : final(CommandId, InstanceId);
        }
        return undefined;
      };
    }

    it('records the keys Run Command read from the key files, then files them', async () => {
      const web = await runInstance({ tags: { 'ec2ip:name': 'web' } });
      await putParameter('/ec2ip/web/instance-id', web);
      const sent: string[] = [];
      respond = runCommand((id, instance) => commandInvocationAnswer(id, instance, 'Success', runCommandOutput(keys.map((k) => `${k} root@ip-172-31-5-20`))), sent);

      const ran = await ec2ip(['known-hosts', '--via', 'ssm', 'web']);
      expect(ran.code, ran.stderr).toBe(0);
      expect(sent).toHaveLength(1);
      expect(JSON.parse(sent[0] as string)).toMatchObject({ InstanceIds: [web], DocumentName: 'AWS-RunShellScript' });
      expect(ran.stderr).toContain(`recorded the host keys of web (${web}) in /ec2ip/web/host-keys, read from its key files through Run Command`);
      expect(ran.stdout).toBe(keys.map((k) => `${web} ${k} ec2ip:web\n`).join(''));
      const parsed = parseHostKeyRecord((await record()) as string);
      expect('record' in parsed && parsed.record).toMatchObject({ instance: web, source: 'ssm' });

      // Later runs take the record; the console (no keys any more) is only a check.
      const later = await ec2ip(['known-hosts']);
      expect(later.code, later.stderr).toBe(0);
      expect(later.stdout).toBe(keys.map((k) => `${web} ${k} ec2ip:web\n`).join(''));
      expect(later.stderr).toContain(`host keys of web (${web}) from /ec2ip/web/host-keys (read from its key files through Run Command`);
    });

    it('refuses output that is not only well-formed public keys, and records nothing', async () => {
      const web = await runInstance({ tags: { 'ec2ip:name': 'web' } });
      await putParameter('/ec2ip/web/instance-id', web);
      const malformed = runCommandOutput([`${keys[0]} root@host`, 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI-not-base64']);
      respond = runCommand((id, instance) => commandInvocationAnswer(id, instance, 'Success', malformed), []);
      const ran = await ec2ip(['known-hosts', '--via', 'ssm', 'web']);
      expect(ran.code).toBe(1);
      expect(ran.stderr).toContain(`refused the host keys web (${web}) printed through Run Command`);
      expect(ran.stderr).toContain('is not a well-formed public host key');
      expect(ran.stdout).toBe('');
      expect(await record()).toBeUndefined();

      // A stray line outside the block is refused the same way.
      respond = runCommand((id, instance) => commandInvocationAnswer(id, instance, 'Success', `${keys[0]}\n${runCommandOutput(keys)}`), []);
      const stray = await ec2ip(['known-hosts', '--via', 'ssm', 'web']);
      expect(stray.code).toBe(1);
      expect(stray.stderr).toContain('the output holds a line outside the block');
      expect(await record()).toBeUndefined();
    });

    it('warns loudly and uses the record when the console shows other keys than it records', async () => {
      const web = await runInstance({ tags: { 'ec2ip:name': 'web' } });
      const recorded = formatHostKeyRecord({ instance: web, source: 'console', recordedAt: new Date().toISOString(), keys: keys.map((l) => ({ type: l.split(' ')[0] as string, base64: l.split(' ')[1] as string })) }) as string;
      await Promise.all([putParameter('/ec2ip/web/instance-id', web), putParameter('/ec2ip/web/host-keys', recorded)]);
      respond = ({ service, action, body }) => (service === 'ec2' && action === 'GetConsoleOutput' ? consoleAnswer(new URLSearchParams(body).get('InstanceId') ?? '', consoleWith(otherKeys)) : undefined);
      const ran = await ec2ip(['known-hosts']);
      expect(ran.code).toBe(1);
      expect(ran.stderr).toContain(`WARNING: HOST KEYS DISAGREE for web (${web}): its console output now shows ssh-ed25519 SHA256:`);
      expect(ran.stdout).toBe(keys.map((k) => `${web} ${k} ec2ip:web\n`).join(''));
    });

    it('says what to do when the instance is not managed by Systems Manager', async () => {
      const web = await runInstance({ tags: { 'ec2ip:name': 'web' } });
      await putParameter('/ec2ip/web/instance-id', web);
      respond = ({ service, action, body }) => {
        if (service === 'ec2' && action === 'GetConsoleOutput') return consoleAnswer(new URLSearchParams(body).get('InstanceId') ?? '', consoleWithoutKeys());
        return service === 'ssm' && action === 'SendCommand' ? ssmError('InvalidInstanceId', `Instances [[${web}]] not in a valid state for account 123456789012`) : undefined;
      };
      const ran = await ec2ip(['known-hosts', '--via', 'ssm', 'web']);
      expect(ran.code).toBe(1);
      expect(ran.stderr).toContain(`web (${web}) is not a node Systems Manager can run commands on`);
      expect(ran.stderr).toContain('AmazonSSMManagedInstanceCore');
      expect(await record()).toBeUndefined();
    });
  });
});
