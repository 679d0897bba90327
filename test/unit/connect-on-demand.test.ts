import { createServer, type AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { tunnelArgs } from '../../scripts/cli/aws-tunnel.js';
import { formatSeconds, nextStep, parseDuration, type Observation, type PlanState } from '../../scripts/cli/connect-plan.js';
import { parseConnectOptions, parseName } from '../../scripts/cli/connect-options.js';
import { commandWord, opensshProxyCommand, proxyFlags, puttyProxyCommand, selfCommand } from '../../scripts/cli/proxy-command.js';
import { renderUnixSession } from '../../scripts/cli/putty-sessions.js';
import { relay } from '../../scripts/cli/relay.js';
import { backoffMs, connectOnce } from '../../scripts/cli/wait-for-port.js';

const ID = 'i-0123456789abcdef0';
const T0 = new Date('2026-12-04T09:00:00Z');
const LATER = new Date('2026-12-04T09:01:00Z');

const base: PlanState = { name: 'web', instanceId: ID, route: 'public', mayStart: false, patient: false, started: false, publishGraceMs: 60_000, stackName: 'ec2ip' };
const at = (value: string, modified = T0) => ({ value, modified });

describe('nextStep: what to do with the instance now', () => {
  const cases: [string, Observation, Partial<PlanState>, ReturnType<typeof nextStep>][] = [
    ['a running instance connects to its published address', { state: 'running', publicIp: at('54.1.2.3') }, {}, { do: 'connect', address: '54.1.2.3' }],
    ['stopped without --start says how', { state: 'stopped' }, {}, { do: 'fail', message: `web (${ID}) is stopped: run "ec2ip start web", or connect with --start` }],
    ['stopped with --start starts it', { state: 'stopped' }, { mayStart: true, patient: true }, { do: 'start' }],
    ['still stopped after our start waits (no second start)', { state: 'stopped' }, { mayStart: true, patient: true, started: true }, { do: 'wait', phase: 'pending', line: `web: ${ID} is starting` }],
    ['stopping with --start waits for it to stop', { state: 'stopping' }, { mayStart: true, patient: true }, { do: 'wait', phase: 'stopping', line: `web: ${ID} is stopping; waiting for it to stop, then starting it` }],
    ['stopping without --start says how', { state: 'stopping' }, {}, { do: 'fail', message: `web (${ID}) is stopping: run "ec2ip start web" once it has stopped, or connect with --start (waits, then starts it)` }],
    ['pending without waiting says so', { state: 'pending' }, {}, { do: 'fail', message: `web (${ID}) is starting (pending): connect again in a moment, or with --start or --wait to wait for it` }],
    ['pending with --wait waits', { state: 'pending' }, { patient: true }, { do: 'wait', phase: 'pending', line: `web: ${ID} is starting` }],
    ['terminated', { state: 'terminated' }, { mayStart: true }, { do: 'fail', message: `web (${ID}) is terminated: nothing to connect to (tag another instance ec2ip:name=web to reuse the name)` }],
    ['shutting down', { state: 'shutting-down' }, {}, { do: 'fail', message: `web (${ID}) is shutting down (being terminated): nothing to connect to` }],
    ['gone from EC2', { state: 'gone' }, {}, { do: 'fail', message: `web (${ID}) no longer exists in EC2 (terminated and gone, or another region/account): its parameters are stale until the next reconcile` }],
    [
      'after a start, the pre-stop address (same LastModifiedDate) is not used',
      { state: 'running', publicIp: at('54.1.2.3', T0), describedPublicIp: '3.3.3.3' },
      { patient: true, started: true, fresh: { baseline: T0 }, runningFor: 5000 },
      { do: 'wait', phase: 'address', line: 'web: running; waiting for its new address to be published' },
    ],
    [
      'after a start, an address published later is used',
      { state: 'running', publicIp: at('3.3.3.3', LATER), describedPublicIp: '3.3.3.3' },
      { patient: true, started: true, fresh: { baseline: T0 }, runningFor: 5000 },
      { do: 'connect', address: '3.3.3.3' },
    ],
    [
      'after a start with ON_STOP=delete, any address that appears is new',
      { state: 'running', publicIp: at('3.3.3.3', T0) },
      { patient: true, started: true, fresh: { baseline: undefined }, runningFor: 1000 },
      { do: 'connect', address: '3.3.3.3' },
    ],
    [
      'an unchanged address EC2 also reports (an Elastic IP) is current',
      { state: 'running', publicIp: at('18.0.0.1', T0), describedPublicIp: '18.0.0.1' },
      { patient: true, started: true, fresh: { baseline: T0 }, runningFor: 1000 },
      { do: 'connect', address: '18.0.0.1' },
    ],
    [
      'nothing published within the grace: EC2\'s address, with a warning naming the stack',
      { state: 'running', publicIp: at('54.1.2.3', T0), describedPublicIp: '3.3.3.3' },
      { patient: true, started: true, fresh: { baseline: T0 }, runningFor: 60_000, stackName: 'prod-ec2ip' },
      {
        do: 'connect',
        address: '3.3.3.3',
        warning: `web: warning: no new address was published for ${ID} within 60 s of it running; using the one EC2 reports. The ec2ip function of stack prod-ec2ip seems not to publish: "ec2ip plan --stack-name prod-ec2ip" shows why`,
      },
    ],
    [
      'no public address at all',
      { state: 'running', privateIp: at('10.0.0.5') },
      {},
      { do: 'fail', message: `web (${ID}) has no public IPv4 address: connect with --private (VPN, Direct Connect, a peered VPC), --via ssm or --via eice` },
    ],
    ['--private uses the private address', { state: 'running', publicIp: at('54.1.2.3'), privateIp: at('10.0.0.5') }, { route: 'private' }, { do: 'connect', address: '10.0.0.5' }],
    ['--via opens a tunnel once running', { state: 'running' }, { route: 'ssm' }, { do: 'tunnel' }],
    [
      'running, published by nobody yet, without waiting',
      { state: 'running', describedPublicIp: '3.3.3.3' },
      {},
      { do: 'fail', message: `web (${ID}) is running but its address is not published yet: connect again in a moment, or with --wait` },
    ],
  ];
  it.each(cases)('%s', (_, seen, state, expected) => {
    expect(nextStep(seen, { ...base, ...state })).toEqual(expected);
  });
});

describe('durations and flags', () => {
  it('parses --wait values and rejects others', () => {
    expect([parseDuration('90'), parseDuration('90s'), parseDuration('5m'), parseDuration('1h'), parseDuration('0.5')]).toEqual([90_000, 90_000, 300_000, 3_600_000, 500]);
    expect([parseDuration(''), parseDuration('5 min'), parseDuration('-1'), parseDuration('0')]).toEqual([undefined, undefined, undefined, undefined]);
    expect([formatSeconds(41_200), formatSeconds(125_000), formatSeconds(120_000)]).toEqual(['41 s', '2 min 5 s', '2 min']);
  });

  it('refuses --via values, --via with --private, and bad waits', () => {
    expect(() => parseConnectOptions({ via: 'ssh' })).toThrow('--via "ssh" is not a tunnel: use ssm (Session Manager) or eice (EC2 Instance Connect Endpoint)');
    expect(() => parseConnectOptions({ via: 'ssm', private: true })).toThrow('--private and --via are two different ways in: give one of them');
    expect(() => parseConnectOptions({ wait: 'soon' })).toThrow('--wait "soon" is not a duration');
    expect(parseConnectOptions({ start: true })).toEqual({ start: true, private: false, via: undefined, waitMs: 300_000, patient: true, wait: undefined });
    expect(parseConnectOptions({ wait: '30' })).toMatchObject({ start: false, patient: true, waitMs: 30_000 });
    expect(() => parseName('-oProxyCommand=x', 'ec2ip proxy NAME PORT')).toThrow();
    expect(parseName('Web', 'x')).toBe('web');
  });

  it('backs off from 100 ms, doubling, capped at 1 s', () => {
    expect([0, 1, 2, 3, 4, 10].map(backoffMs)).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('builds AWS\'s documented tunnel command lines with the region and profile', () => {
    expect(tunnelArgs('ssm', ID, 22, { region: 'eu-west-1', profile: 'work' })).toEqual([
      'ssm', 'start-session', '--target', ID, '--document-name', 'AWS-StartSSHSession', '--parameters', 'portNumber=22', '--region', 'eu-west-1', '--profile', 'work',
    ]);
    expect(tunnelArgs('eice', ID, 2222, { region: 'us-east-1' })).toEqual(['ec2-instance-connect', 'open-tunnel', '--instance-id', ID, '--remote-port', '2222', '--region', 'us-east-1']);
  });
});

describe('the ProxyCommand line', () => {
  const npm = selfCommand({ execPath: '/usr/bin/node', script: '/usr/lib/node_modules/ec2ip/dist/cli.mjs', isSea: false });
  const sea = selfCommand({ execPath: '/Users/Jo Doe/bin/ec2ip', script: '/Users/Jo Doe/bin/ec2ip', isSea: true });

  it('runs node and the script for an npm install, the executable itself as a single file', () => {
    expect(npm).toEqual({ program: '/usr/bin/node', args: ['/usr/lib/node_modules/ec2ip/dist/cli.mjs'] });
    expect(sea).toEqual({ program: '/Users/Jo Doe/bin/ec2ip', args: [] });
  });

  it('quotes a path with spaces and passes the flags on', () => {
    expect(opensshProxyCommand(npm, { start: true, region: 'us-east-1', prefix: '/ec2ip' }, 'posix')).toBe('/usr/bin/node /usr/lib/node_modules/ec2ip/dist/cli.mjs proxy %n %p --start --region us-east-1 --prefix /ec2ip');
    expect(opensshProxyCommand(sea, { via: 'ssm', wait: '2m', profile: 'work' }, 'posix')).toBe('"/Users/Jo Doe/bin/ec2ip" proxy %n %p --wait 2m --via ssm --profile work');
    expect(opensshProxyCommand({ program: 'C:\\Program Files\\ec2ip\\ec2ip.exe', args: [] }, { private: true }, 'win32')).toBe('"C:\\Program Files\\ec2ip\\ec2ip.exe" proxy %n %p --private');
  });

  it('doubles backslashes for PuTTY, which reads them as escapes, and uses %host/%port', () => {
    expect(puttyProxyCommand({ program: 'C:\\Program Files\\ec2ip\\ec2ip.exe', args: [] }, { start: true }, 'win32')).toBe('"C:\\\\Program Files\\\\ec2ip\\\\ec2ip.exe" proxy %host %port --start');
    expect(puttyProxyCommand(npm, {}, 'posix')).toBe('/usr/bin/node /usr/lib/node_modules/ec2ip/dist/cli.mjs proxy %host %port');
  });

  it('refuses a path no quoting keeps safe: newlines, quotes, $, `, %, and \\ outside Windows', () => {
    for (const bad of ['/opt/ec2\nip', '/opt/"ec2ip"', '/opt/$HOME/ec2ip', '/opt/`x`/ec2ip', '/opt/100%/ec2ip', '/opt/a\\b', '/opt/\u0007']) {
      expect(() => commandWord(bad, 'posix'), JSON.stringify(bad)).toThrow('which an ssh config line cannot carry safely');
    }
    expect(() => commandWord('C:\\a"b', 'win32')).toThrow('cannot carry safely');
    expect(commandWord('C:\\tools\\ec2ip.exe', 'win32')).toBe('C:\\tools\\ec2ip.exe');
    expect(() => proxyFlags({ profile: 'a b' })).toThrow('--profile "a b" cannot go into a ProxyCommand');
  });
});

describe('PuTTY sessions with the local proxy', () => {
  it('writes ProxyMethod=5 and the command, and takes ec2ip\'s own proxy out again without --proxy', () => {
    const withProxy = renderUnixSession({ HostName: 'web', PortNumber: 22, Protocol: 'ssh', LogHost: ID, ProxyMethod: 5, ProxyTelnetCommand: '/usr/bin/ec2ip proxy %host %port --start' }, 'FontHeight=12\n');
    expect(withProxy).toBe(`HostName=web\nLogHost=${ID}\nPortNumber=22\nProtocol=ssh\nProxyMethod=5\nProxyTelnetCommand=/usr/bin/ec2ip proxy %host %port --start\nFontHeight=12\n`);
    expect(renderUnixSession({ HostName: '54.1.2.3', PortNumber: 22, Protocol: 'ssh', LogHost: ID }, withProxy)).toBe(`HostName=54.1.2.3\nLogHost=${ID}\nPortNumber=22\nProtocol=ssh\nFontHeight=12\n`);
    // A proxy the user set up is theirs.
    const theirs = 'ProxyMethod=2\nProxyHost=socks.example\n';
    expect(renderUnixSession({ HostName: '54.1.2.3', PortNumber: 22, Protocol: 'ssh', LogHost: ID }, theirs)).toContain('ProxyMethod=2\nProxyHost=socks.example\n');
  });
});

describe('relay', () => {
  it('passes half-close both ways: the client\'s EOF reaches the instance while its answer still flows back, then stdout ends', async () => {
    let serverGot = '';
    const server = createServer({ allowHalfOpen: true }, (s) => {
      s.on('data', (c: Buffer) => (serverGot += c.toString()));
      // Answers only after the client has half-closed, as `sort` or an scp sink does.
      s.on('end', () => {
        s.write(`got ${serverGot.length} bytes`);
        s.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const input = new PassThrough();
    const output = new PassThrough();
    let received = '';
    output.on('data', (c: Buffer) => (received += c.toString()));
    const socket = await connectOnce('127.0.0.1', port, 2000);
    const done = relay(socket, input, output);
    input.write('x'.repeat(100_000));
    input.end();
    await done;
    server.close();
    expect(serverGot.length).toBe(100_000);
    expect(received).toBe('got 100000 bytes');
    expect(output.writableEnded).toBe(true);
  });

  it('rejects when the port refuses', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((r) => server.close(() => r()));
    await expect(connectOnce('127.0.0.1', port, 2000)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
