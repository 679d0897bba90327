/** A hub's configuration, its way into the spokes (assumed roles, cached), and spoke discovery. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readConfig } from '../../functions/core/config.js';
import { SpokeUnreachableError } from '../../functions/core/errors.js';
import { CREDENTIAL_MARGIN_MS, SpokeDirectory, spokeRoleArn } from '../../functions/adapters/spokes.js';
import { discoverSpokes } from '../../functions/adapters/stack-instances.js';
import type { HubConfig } from '../../functions/core/types.js';

const base = { AWS_REGION: 'eu-central-1', SPOKE_ROLE_NAME: 'ec2ip-spoke', SPOKE_EXTERNAL_ID: 'xid-123', SPOKES: '111111111111:us-east-1, 222222222222:eu-west-1' };

describe('hub configuration', () => {
  it('reads the spokes, the role, the external id and the template; single-account mode has none of it', () => {
    expect(readConfig(base).hub).toEqual({
      roleName: 'ec2ip-spoke',
      externalId: 'xid-123',
      spokes: [
        { account: '111111111111', region: 'us-east-1' },
        { account: '222222222222', region: 'eu-west-1' },
      ],
      nameTemplate: '{name}',
      partition: 'aws',
    });
    expect(readConfig({ ...base, SPOKES: undefined, SPOKE_STACK_SET: 'ec2ip-spokes', NAME_TEMPLATE: '{name}.{region}', AWS_REGION: 'cn-north-1' }).hub).toMatchObject({ stackSet: 'ec2ip-spokes', nameTemplate: '{name}.{region}', partition: 'aws-cn' });
    expect(readConfig({ AWS_REGION: 'us-east-1' }).hub).toBeUndefined();
  });

  it.each([
    [{ SPOKE_ROLE_NAME: undefined }, /SPOKE_EXTERNAL_ID is set but SPOKE_ROLE_NAME is not/],
    [{ SPOKE_ROLE_NAME: 'a role' }, /SPOKE_ROLE_NAME="a role"/],
    [{ SPOKE_EXTERNAL_ID: undefined }, /SPOKE_EXTERNAL_ID= is not set/],
    [{ SPOKE_EXTERNAL_ID: 'x' }, /SPOKE_EXTERNAL_ID="x" is not usable/],
    [{ SPOKES: undefined }, /SPOKES and SPOKE_STACK_SET are both unset/],
    [{ SPOKES: '11111111111:us-east-1' }, /SPOKES has "11111111111:us-east-1"/],
    [{ SPOKES: '111111111111:mars' }, /SPOKES has "111111111111:mars"/],
    [{ SPOKES: '111111111111' }, /<12-digit account>:<region>/],
    [{ SPOKE_STACK_SET: '1bad' }, /SPOKE_STACK_SET="1bad"/],
    [{ NAME_TEMPLATE: '{region}' }, /NAME_TEMPLATE="\{region\}" is not usable: it must contain \{name\} exactly once/],
    [{ NAME_TEMPLATE: '{name}.{account-name}' }, /\{account-name\}/],
  ])('refuses %j with a message naming the variable', (env, message) => {
    expect(() => readConfig({ ...base, ...env })).toThrow(message);
  });

  it('refuses hub settings without SPOKE_ROLE_NAME rather than silently running single-account', () => {
    expect(() => readConfig({ AWS_REGION: 'us-east-1', SPOKES: '111111111111:us-east-1' })).toThrow(/SPOKES is set but SPOKE_ROLE_NAME is not/);
    expect(() => readConfig({ AWS_REGION: 'us-east-1', NAME_TEMPLATE: '{name}.{region}' })).toThrow(/NAME_TEMPLATE is set but SPOKE_ROLE_NAME is not/);
  });
});

describe('SpokeDirectory', () => {
  const stsMock = mockClient(STSClient);
  const sts = new STSClient({ region: 'eu-central-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const hub: HubConfig = { roleName: 'ec2ip-spoke', externalId: 'xid-123', nameTemplate: '{name}', partition: 'aws' };
  const spoke = { account: '111111111111', region: 'us-east-1' };
  let now = Date.parse('2026-01-01T00:00:00Z');
  const credentials = (key: string, expiresIn: number) => ({ Credentials: { AccessKeyId: key, SecretAccessKey: 's', SessionToken: 't', Expiration: new Date(now + expiresIn) } });

  beforeEach(() => {
    stsMock.reset();
    now = Date.parse('2026-01-01T00:00:00Z');
  });

  it('assumes <role>-<region> in the spoke account with the external id', async () => {
    stsMock.on(AssumeRoleCommand).resolves(credentials('AK1', 3600_000));
    const dir = new SpokeDirectory(hub, sts, 'ec2ip-hub', { env: {}, requestTimeoutMs: 5000 }, () => now);
    expect(await dir.credentialsFor(spoke)).toMatchObject({ accessKeyId: 'AK1' });
    expect(stsMock).toHaveReceivedCommandWith(AssumeRoleCommand, { RoleArn: 'arn:aws:iam::111111111111:role/ec2ip-spoke-us-east-1', ExternalId: 'xid-123', RoleSessionName: 'ec2ip-hub' });
    expect(spokeRoleArn({ ...hub, partition: 'aws-cn' }, { account: '2', region: 'cn-north-1' })).toBe('arn:aws-cn:iam::2:role/ec2ip-spoke-cn-north-1');
  });

  it('caches the credentials until shortly before they expire, one AssumeRole for concurrent callers', async () => {
    stsMock.on(AssumeRoleCommand).resolvesOnce(credentials('AK1', 3600_000)).resolves(credentials('AK2', 3600_000));
    const dir = new SpokeDirectory(hub, sts, 'ec2ip-hub', { env: {}, requestTimeoutMs: 5000 }, () => now);
    const [a, b] = await Promise.all([dir.credentialsFor(spoke), dir.credentialsFor(spoke)]);
    expect([a.accessKeyId, b.accessKeyId]).toEqual(['AK1', 'AK1']);
    now += 3600_000 - CREDENTIAL_MARGIN_MS - 1000;
    expect((await dir.credentialsFor(spoke)).accessKeyId).toBe('AK1');
    expect(stsMock.commandCalls(AssumeRoleCommand)).toHaveLength(1);
    now += 2000;
    expect((await dir.credentialsFor(spoke)).accessKeyId).toBe('AK2');
    expect(stsMock.commandCalls(AssumeRoleCommand)).toHaveLength(2);
  });

  it('keeps one client set per spoke, and a role per region of one account', async () => {
    stsMock.on(AssumeRoleCommand).resolves(credentials('AK', 3600_000));
    const dir = new SpokeDirectory(hub, sts, 'ec2ip-hub', { env: {}, requestTimeoutMs: 5000 }, () => now);
    expect(dir.clientsFor(spoke)).toBe(dir.clientsFor({ ...spoke }));
    expect(dir.clientsFor(spoke)).not.toBe(dir.clientsFor({ ...spoke, region: 'eu-west-1' }));
    expect(await dir.clientsFor({ ...spoke, region: 'eu-west-1' }).ec2.config.region()).toBe('eu-west-1');
    await dir.credentialsFor(spoke);
    await dir.credentialsFor({ ...spoke, region: 'eu-west-1' });
    expect(stsMock.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input.RoleArn)).toEqual(['arn:aws:iam::111111111111:role/ec2ip-spoke-us-east-1', 'arn:aws:iam::111111111111:role/ec2ip-spoke-eu-west-1']);
  });

  it('names the account, region and role when the role cannot be assumed, and tries again next time', async () => {
    stsMock.on(AssumeRoleCommand).rejectsOnce(Object.assign(new Error('User is not authorized to perform: sts:AssumeRole'), { name: 'AccessDenied' })).resolves(credentials('AK', 3600_000));
    const dir = new SpokeDirectory(hub, sts, 'ec2ip-hub', { env: {}, requestTimeoutMs: 5000 }, () => now);
    const error = await dir.credentialsFor(spoke).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SpokeUnreachableError);
    expect(String((error as Error).message)).toBe('cannot assume arn:aws:iam::111111111111:role/ec2ip-spoke-us-east-1 for account 111111111111 in us-east-1: AccessDenied: User is not authorized to perform: sts:AssumeRole');
    expect(await dir.credentialsFor(spoke)).toMatchObject({ accessKeyId: 'AK' });
  });
});

describe('discoverSpokes', () => {
  let server: Server;
  let answers: { status: number; body: string }[] = [];
  const received: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push(`${String(req.headers.authorization).startsWith('AWS4-HMAC-SHA256 Credential=AK/') ? 'signed' : 'unsigned'} ${body}`);
        const answer = answers.shift() ?? { status: 500, body: '' };
        res.writeHead(answer.status, { 'content-type': 'text/xml' });
        res.end(answer.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const target = () => ({ region: 'us-east-1', credentials: { accessKeyId: 'AK', secretAccessKey: 'S' }, env: { AWS_ENDPOINT_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}` } });
  const member = (account: string, region: string) => `<member><StackSetId>ec2ip-spokes:1</StackSetId><Region>${region}</Region><Account>${account}</Account><Status>CURRENT</Status></member>`;
  const page = (members: string[], next?: string) => `<ListStackInstancesResponse><ListStackInstancesResult><Summaries>${members.join('')}</Summaries>${next ? `<NextToken>${next}</NextToken>` : ''}</ListStackInstancesResult></ListStackInstancesResponse>`;

  beforeEach(() => {
    answers = [];
    received.length = 0;
  });

  it('lists every account and region of the StackSet, page by page, signed', async () => {
    answers = [
      { status: 200, body: page([member('111111111111', 'us-east-1'), member('111111111111', 'eu-west-1')], 'tok&1') },
      { status: 200, body: page([member('222222222222', 'us-east-1'), member('111111111111', 'us-east-1')]) },
    ];
    expect(await discoverSpokes(target(), 'ec2ip-spokes', 'DELEGATED_ADMIN')).toEqual([
      { account: '111111111111', region: 'us-east-1' },
      { account: '111111111111', region: 'eu-west-1' },
      { account: '222222222222', region: 'us-east-1' },
    ]);
    expect(received).toEqual([
      'signed Action=ListStackInstances&Version=2010-05-15&StackSetName=ec2ip-spokes&CallAs=DELEGATED_ADMIN',
      'signed Action=ListStackInstances&Version=2010-05-15&StackSetName=ec2ip-spokes&NextToken=tok%261&CallAs=DELEGATED_ADMIN',
    ]);
  });

  it('fails with the service\'s code and message', async () => {
    answers = [{ status: 404, body: '<ErrorResponse><Error><Type>Sender</Type><Code>StackSetNotFoundException</Code><Message>StackSet ec2ip-spokes not found</Message></Error></ErrorResponse>' }];
    await expect(discoverSpokes(target(), 'ec2ip-spokes')).rejects.toThrow('ListStackInstances of StackSet ec2ip-spokes failed: StackSetNotFoundException: StackSet ec2ip-spokes not found');
  });
});

describe('SpokeDirectory.accountAlias', () => {
  const stsMock = mockClient(STSClient);
  const sts = new STSClient({ region: 'eu-central-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const hub: HubConfig = { roleName: 'ec2ip-spoke', externalId: 'xid-123', nameTemplate: '{name}.{account-alias}', partition: 'aws' };
  const spoke = { account: '111111111111', region: 'eu-west-1' };
  let server: Server;
  let answers: { status: number; body: string }[] = [];
  const received: string[] = [];
  let now = Date.parse('2026-01-01T00:00:00Z');
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        // IAM is global: the request is signed for us-east-1 with the spoke role's keys.
        received.push(`${/Credential=SPOKEKEY\/\d{8}\/us-east-1\/iam\//.test(String(req.headers.authorization)) ? 'signed' : 'unsigned'} ${body}`);
        const answer = answers.shift() ?? { status: 500, body: '' };
        res.writeHead(answer.status, { 'content-type': 'text/xml' });
        res.end(answer.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    stsMock.reset();
    stsMock.on(AssumeRoleCommand).resolves({ Credentials: { AccessKeyId: 'SPOKEKEY', SecretAccessKey: 's', SessionToken: 't', Expiration: new Date(now + 3600_000) } });
    answers = [];
    received.length = 0;
  });
  const directory = () => new SpokeDirectory(hub, sts, 'ec2ip-hub', { env: { AWS_ENDPOINT_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }, requestTimeoutMs: 5000 }, () => now);
  const aliases = (names: string[]) => `<ListAccountAliasesResponse><ListAccountAliasesResult><IsTruncated>false</IsTruncated><AccountAliases>${names.map((n) => `<member>${n}</member>`).join('')}</AccountAliases></ListAccountAliasesResult></ListAccountAliasesResponse>`;

  it('reads the alias as the spoke role, once an hour per account', async () => {
    answers = [{ status: 200, body: aliases(['acme-prod']) }, { status: 200, body: aliases(['acme-renamed']) }];
    const dir = directory();
    expect(await dir.accountAlias(spoke)).toBe('acme-prod');
    expect(await dir.accountAlias({ ...spoke, region: 'us-east-1' })).toBe('acme-prod');
    expect(received).toEqual(['signed Action=ListAccountAliases&Version=2010-05-08']);
    now += 3600_000;
    expect(await dir.accountAlias(spoke)).toBe('acme-renamed');
  });

  it('gives undefined for an account without an alias', async () => {
    answers = [{ status: 200, body: aliases([]) }];
    expect(await directory().accountAlias(spoke)).toBeUndefined();
  });

  it('makes the spoke unreachable, naming the permission, when the alias cannot be read', async () => {
    answers = [{ status: 403, body: '<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized to perform: iam:ListAccountAliases</Message></Error></ErrorResponse>' }];
    const error = await directory().accountAlias(spoke).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SpokeUnreachableError);
    expect((error as Error).message).toBe(
      "cannot read the account alias of account 111111111111 (iam:ListAccountAliases, which NAME_TEMPLATE's {account-alias} needs): AccessDenied: not authorized to perform: iam:ListAccountAliases",
    );
  });
});
