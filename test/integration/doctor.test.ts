/**
 * `ec2ip doctor` against moto, on a stack deployed by `ec2ip deploy`: a healthy stack is all
 * ok (and doctor only reads: every call through the test proxy is a read); then one thing is
 * broken at a time and exactly its own line turns FAIL or warn, with the fix, while every
 * other check keeps its status. The delegation check asks a stub DNS server on 127.0.0.1.
 * Checks moto cannot feed (CloudWatch metrics with data, denied permissions) are unit-tested
 * with aws-sdk-client-mock in test/unit/doctor-checks.test.ts. On the single-account stack the
 * person's calls (doctor, --redrive, reconcile) are held by the IAM audit to the policies
 * docs/troubleshooting.md quotes; the deploy before them is the deployer's, audited in deploy.test.ts.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DescribeStackResourcesCommand, CloudFormationClient, GetTemplateCommand, UpdateStackCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient, CreateLogStreamCommand, PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DisableRuleCommand, EventBridgeClient, PutPermissionCommand, RemovePermissionCommand } from '@aws-sdk/client-eventbridge';
import { LambdaClient, ListEventSourceMappingsCommand, UpdateEventSourceMappingCommand } from '@aws-sdk/client-lambda';
import { ChangeResourceRecordSetsCommand, GetHostedZoneCommand, ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { GetQueueAttributesCommand, SendMessageCommand, SetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createZone, REGION, runInstance, startInstances, stopInstances, useMoto } from '../support/moto.js';
import { cli, cliAs, publish, runBuilt, tempDir, type Ran } from '../support/cli.js';
import { useIamAudit, USER_ACCESS_KEY, USER_POLICIES } from '../support/iam-audit.js';
import { startDnsStub, type DnsStub } from '../support/dns-stub.js';
import { startProxy } from '../support/aws-proxy.js';
import type { Check, Report } from '../../scripts/doctor/report.js';

const show = (r: Ran) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

// One useMoto for the file: a second one would restore the environment after the first describe.
const aws = useMoto();

describe('ec2ip doctor on a deployed stack', () => {
  // The person running doctor (and reconcile) is held to their policies; deploying and the Lambda are someone else's, audited in their own tests.
  const audit = useIamAudit('cli', { accessKeyId: USER_ACCESS_KEY, policies: [USER_POLICIES.read, USER_POLICIES.reconcile, USER_POLICIES.doctor] });
  const person = (args: string[]) => cliAs(USER_ACCESS_KEY, args);
  let auditUrl: string | undefined;
  beforeAll(() => {
    auditUrl = process.env.AWS_ENDPOINT_URL;
  });
  const config = { endpoint: aws.endpoint, region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  const cfn = new CloudFormationClient(config);
  const events = new EventBridgeClient(config);
  const lambda = new LambdaClient(config);
  const sqs = new SQSClient({ ...config, useQueueUrlAsEndpoint: false });
  const logs = new CloudWatchLogsClient(config);
  let dns: DnsStub;
  let zone: string;
  let web: string;
  let ids: Record<string, string>;

  beforeAll(async () => {
    dns = await startDnsStub();
  });
  afterAll(() => dns.stop());

  const soa = async () => (await aws.route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zone, StartRecordName: 'example.com.', StartRecordType: 'SOA', MaxItems: 1 }))).ResourceRecordSets?.[0];
  const setSoa = async (ttl: number, minimum: number) => {
    const fields = ((await soa())?.ResourceRecords?.[0]?.Value ?? '').split(' ');
    const value = [...fields.slice(0, 6), String(minimum)].join(' ');
    await aws.route53.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: zone, ChangeBatch: { Changes: [{ Action: 'UPSERT', ResourceRecordSet: { Name: 'example.com.', Type: 'SOA', TTL: ttl, ResourceRecords: [{ Value: value }] } }] } }));
  };

  /** Deploys the stack as a user would, publishes one instance, and makes everything doctor checks healthy. */
  beforeEach(async () => {
    zone = await createZone('example.com');
    audit.edit({ PUBLIC_ZONE_ID: zone });
    const deployed = await cli(['deploy', '--hosted-zone-id', zone, '--skip-build']);
    expect(deployed.code, show(deployed)).toBe(0);
    const { StackResources = [] } = await cfn.send(new DescribeStackResourcesCommand({ StackName: 'ec2ip' }));
    ids = Object.fromEntries(StackResources.map((r) => [r.LogicalResourceId ?? '', r.PhysicalResourceId ?? '']));
    // The registrar delegates to the zone's own name servers; the zone's negative TTL is a minute.
    dns.zones.set('example.com', (await aws.route53.send(new GetHostedZoneCommand({ Id: zone }))).DelegationSet?.NameServers ?? []);
    await setSoa(900, 60);
    web = await runInstance({ tags: { 'ec2ip:name': 'web' } });
    await publish({ publicZone: zone }, [web]);
    // The scheduled reconcile's log line, as the function writes it (functions/sync/handler.ts).
    await logs.send(new CreateLogStreamCommand({ logGroupName: '/aws/lambda/ec2ip', logStreamName: '2026/01/01/[$LATEST]test' }));
    const line = JSON.stringify({ level: 'INFO', message: 'reconcile done', service: 'ec2ip', instances: 1, recordsCreated: 0, refused: 0, failed: 0, durationMs: 120 });
    await logs.send(new PutLogEventsCommand({ logGroupName: '/aws/lambda/ec2ip', logStreamName: '2026/01/01/[$LATEST]test', logEvents: [{ timestamp: Date.now() - 5 * 60_000, message: line }] }));
  });

  const depthOf = async (url: string) => Number((await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }))).Attributes?.ApproximateNumberOfMessages);

  const doctor = async (...args: string[]) => {
    const ran = await person(['doctor', '--dns-server', dns.address, '--json', ...args]);
    expect([0, 1], show(ran)).toContain(ran.code);
    return { ran, report: JSON.parse(ran.stdout) as Report };
  };
  // An instance's line changes its id with its verdict (published, stale, refused).
  const key = (c: Check) => `${c.section} ${c.section === 'instances' ? '' : c.id} ${c.resource}`;
  /** The checks whose status differs from `before` (or that are new), and those that went away. */
  const changed = (before: Report, after: Report) => {
    const was = new Map(before.checks.map((c) => [key(c), c.status]));
    const now = new Set(after.checks.map(key));
    return {
      changed: after.checks.filter((c) => was.get(key(c)) !== c.status),
      gone: before.checks.filter((c) => !now.has(key(c))).map(key),
    };
  };

  it('finds a healthy stack all ok (exit 0), reading only, and prints one line per check', async () => {
    const proxy = await startProxy({ ...audit.hooks, target: aws.endpoint });
    try {
      // The SDK reads its endpoint from the process environment.
      process.env.AWS_ENDPOINT_URL = proxy.url;
      const text = await person(['doctor', '--dns-server', dns.address]).finally(() => {
        process.env.AWS_ENDPOINT_URL = auditUrl;
      });
      expect(text.code, show(text)).toBe(0);
      const lines = text.stdout.trim().split('\n');
      expect(lines.filter((l) => /^(ok|warn|FAIL) /.test(l)).every((l) => l.startsWith('ok '))).toBe(true);
      expect(text.stdout).toMatch(/\n\d+ ok, 0 warn, 0 FAIL: all good\.\n$/);
      const writes = proxy.requests.filter((r) => !/^(Describe|List|Get|Receive|Filter)|^GET |\/operation\/GetMetricData$/.test(r.action));
      expect(proxy.requests.length).toBeGreaterThan(10);
      expect(writes.map((r) => `${r.service} ${r.action}`)).toEqual([]);
    } finally {
      await proxy.stop();
    }
    const { ran, report } = await doctor();
    expect(ran.code).toBe(0);
    expect(report.checks.filter((c) => c.status !== 'ok')).toEqual([]);
    expect(report.checks.map((c) => `${c.section} ${c.id}`)).toEqual([
      'stack stack-status',
      'stack template-version',
      'stack stack-settings',
      'events queue-backlog',
      'events queue-policy',
      'events rule-enabled',
      'events rule-target',
      'events rule-enabled',
      'events rule-target',
      'events event-source-mapping',
      'events dead-letters',
      'function function-errors',
      'function function-outcomes',
      'function last-reconcile',
      'zones zone-exists',
      'zones delegation',
      'zones negative-ttl',
      'instances instance-published',
      'instances plan',
    ]);
    expect(report).toMatchObject({ schemaVersion: 1, stack: 'ec2ip', region: REGION, exitCode: 0, summary: { warn: 0, fail: 0 } });
  });

  it('says which permission a refused check lacks and goes on with the others; usage errors exit 2', async () => {
    const proxy = await startProxy({ ...audit.hooks, target: aws.endpoint, deny: ({ service, action }) => service === 'events' && action === 'DescribeRule' });
    process.env.AWS_ENDPOINT_URL = proxy.url;
    let ran: Ran;
    try {
      ran = await person(['doctor', '--dns-server', dns.address, '--json']);
    } finally {
      process.env.AWS_ENDPOINT_URL = auditUrl;
      await proxy.stop();
    }
    expect(ran.code, show(ran)).toBe(0);
    const report = JSON.parse(ran.stdout) as Report;
    expect(report.checks.filter((c) => c.status !== 'ok')).toEqual([
      expect.objectContaining({ id: 'rule-enabled', resource: ids.StateChangeRule, status: 'warn', missingPermission: 'events:DescribeRule' }),
      expect.objectContaining({ id: 'rule-enabled', resource: ids.TagChangeRule, status: 'warn', missingPermission: 'events:DescribeRule' }),
    ]);
    expect(report.checks).toHaveLength(19);

    for (const args of [['--yes'], ['--dns-server', 'resolver.example'], ['--bogus']]) {
      const bad = await person(['doctor', ...args]);
      expect(bad.code, show(bad)).toBe(2);
      expect(bad.stdout).toBe('');
    }
  });

  it('shows each broken thing on its own line with its fix, and nothing else changing', async () => {
    const healthy = (await doctor()).report;
    expect(healthy.exitCode).toBe(0);
    const only = async (expected: Partial<Check>[], ...args: string[]) => {
      const { ran, report } = await doctor(...args);
      const diff = changed(healthy, report);
      expect(diff.gone, show(ran)).toEqual([]);
      expect(diff.changed, show(ran)).toEqual(expected.map((e) => expect.objectContaining(e)));
      expect(ran.code).toBe(expected.some((e) => e.status === 'fail') ? 1 : 0);
      return report;
    };

    // A disabled rule.
    const stateRule = ids.StateChangeRule as string;
    await events.send(new DisableRuleCommand({ Name: stateRule }));
    await only([{ id: 'rule-enabled', resource: stateRule, status: 'fail', fix: `aws events enable-rule --name ${stateRule}` }]);
    await events.send(new (await import('@aws-sdk/client-eventbridge')).EnableRuleCommand({ Name: stateRule }));

    // A removed queue policy statement: only the state-change rule's ARN is left in it.
    const queueUrl = ids.EventQueue as string;
    const policy = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['Policy'] }))).Attributes?.Policy ?? '';
    const parsed = JSON.parse(policy) as { Statement: { Condition: { ArnEquals: { 'aws:SourceArn': string[] } } }[] };
    const statement = parsed.Statement[0];
    const arns = statement?.Condition.ArnEquals['aws:SourceArn'] ?? [];
    expect(arns).toHaveLength(2);
    if (statement) statement.Condition.ArnEquals['aws:SourceArn'] = arns.filter((a) => a.includes('StateChangeRule'));
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: queueUrl, Attributes: { Policy: JSON.stringify(parsed) } }));
    await only([{ id: 'queue-policy', status: 'fail', message: expect.stringContaining('tag-change rule'), fix: 'run ec2ip deploy (it restores EventQueuePolicy)' }]);
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: queueUrl, Attributes: { Policy: policy } }));

    // A disabled event source mapping.
    const { EventSourceMappings = [] } = await lambda.send(new ListEventSourceMappingsCommand({ FunctionName: 'ec2ip' }));
    expect(EventSourceMappings).toHaveLength(1);
    const uuid = EventSourceMappings[0]?.UUID as string;
    await lambda.send(new UpdateEventSourceMappingCommand({ UUID: uuid, Enabled: false }));
    await only([{ id: 'event-source-mapping', status: 'fail', fix: `aws lambda update-event-source-mapping --uuid ${uuid} --enabled` }]);
    await lambda.send(new UpdateEventSourceMappingCommand({ UUID: uuid, Enabled: true }));

    // A zone whose delegation in public DNS names other servers.
    const own = dns.zones.get('example.com') ?? [];
    dns.zones.set('example.com', ['ns1.registrar-parking.example', 'ns2.registrar-parking.example']);
    await only([{ id: 'delegation', status: 'fail', message: expect.stringContaining('ns1.registrar-parking.example'), fix: expect.stringContaining(own[0] as string) }]);
    dns.zones.set('example.com', own);

    // A zone SOA with an 86400 s negative TTL: a warning with the exact command, and that command fixes it.
    await setSoa(86400, 86400);
    const soaWarned = await only([{ id: 'negative-ttl', status: 'warn', message: expect.stringContaining('86400 s') }]);
    const fix = soaWarned.checks.find((c) => c.id === 'negative-ttl')?.fix ?? '';
    expect(fix).toMatch(new RegExp(`^aws route53 change-resource-record-sets --hosted-zone-id ${zone} --change-batch '.+'$`));
    const batch = JSON.parse(/--change-batch '(.+)'$/.exec(fix)?.[1] ?? '{}');
    await aws.route53.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: zone, ChangeBatch: batch }));
    expect(changed(healthy, (await doctor()).report).changed).toEqual([]);

    // A stale record: the instance's IP changed behind ec2ip's back (events lost).
    await stopInstances([web]);
    await startInstances([web]);
    await only([
      { id: 'instance-stale', resource: `${web} (ec2ip:name=web)`, status: 'fail', fix: expect.stringContaining('ec2ip reconcile') },
      { id: 'plan', status: 'warn' },
    ]);
    expect((await person(['reconcile'])).code).toBe(0);

    // A refused name: a second instance claims web.
    const rival = await runInstance({ tags: { 'ec2ip:name': 'web' } });
    const refused = await doctor();
    expect(refused.ran.code).toBe(1);
    expect(refused.report.checks.filter((c) => c.status !== 'ok')).toEqual([
      expect.objectContaining({ id: 'instance-refused', resource: `${rival} (ec2ip:name=web)`, status: 'fail', message: expect.stringContaining('refused') }),
    ]);
  });

  it('reports a dead letter with its instance, --redrive moves it back (nothing deleted), and the next run is clean', async () => {
    const healthy = (await doctor()).report;
    const dlq = ids.DeadLetterQueue as string;
    const body = JSON.stringify({ version: '0', id: 'e1', 'detail-type': 'EC2 Instance State-change Notification', source: 'aws.ec2', account: '123456789012', time: new Date().toISOString(), region: REGION, resources: [`arn:aws:ec2:${REGION}:123456789012:instance/${web}`], detail: { 'instance-id': web, state: 'running' } });
    await sqs.send(new SendMessageCommand({ QueueUrl: dlq, MessageBody: body }));
    // Reading the dead letter is a read: ReceiveMessage, nothing deleted, nothing hidden.
    const proxy = await startProxy({ ...audit.hooks, target: aws.endpoint });
    process.env.AWS_ENDPOINT_URL = proxy.url;
    const broken = await doctor().finally(async () => {
      process.env.AWS_ENDPOINT_URL = auditUrl;
      await proxy.stop();
    });
    expect(proxy.requests.filter((r) => r.action === 'ReceiveMessage')).toHaveLength(1);
    expect(proxy.requests.filter((r) => !/^(Describe|List|Get|Receive|Filter)|^GET |\/operation\/GetMetricData$/.test(r.action)).map((r) => r.action)).toEqual([]);
    expect(await depthOf(dlq)).toBe(1);
    expect(changed(healthy, broken.report).changed).toEqual([expect.objectContaining({ id: 'dead-letters', status: 'fail', message: expect.stringContaining(`1 event failed 10 times`), fix: expect.stringContaining('ec2ip doctor --redrive') })]);
    expect(broken.report.checks.find((c) => c.id === 'dead-letters')?.message).toContain(`about ${web}`);

    // Without a terminal and without --yes, it asks for --yes and moves nothing.
    const unconfirmed = await person(['doctor', '--dns-server', dns.address, '--redrive']);
    expect(unconfirmed.code, show(unconfirmed)).toBe(2);
    expect(unconfirmed.stderr).toContain('--yes');

    const redriven = await doctor('--redrive', '--yes');
    expect(redriven.report.checks.at(-1)).toMatchObject({ section: 'redrive', status: 'ok', message: expect.stringContaining('moved 1 message back') });
    expect(await depthOf(dlq)).toBe(0);
    expect(await depthOf(ids.EventQueue as string)).toBe(1);
    const after = await doctor();
    expect(after.ran.code).toBe(0);
    expect(changed(healthy, after.report).changed).toEqual([]);
  });

  it('finds a stack deployed from an older template: run ec2ip deploy', async () => {
    const { TemplateBody = '' } = await cfn.send(new GetTemplateCommand({ StackName: 'ec2ip' }));
    expect(TemplateBody).toContain('Ec2ipTemplateVersion: "');
    const old = TemplateBody.replace(/Ec2ipTemplateVersion: "[^"]+"/, 'Ec2ipTemplateVersion: "0.0.9"');
    const { Stacks = [] } = await cfn.send(new DescribeStacksCommand({ StackName: 'ec2ip' }));
    const parameters = (Stacks[0]?.Parameters ?? []).map((p) => ({ ParameterKey: p.ParameterKey, UsePreviousValue: true }));
    await cfn.send(new UpdateStackCommand({ StackName: 'ec2ip', TemplateBody: old, Parameters: parameters, Capabilities: ['CAPABILITY_IAM'] }));
    const { ran, report } = await doctor();
    expect(ran.code).toBe(1);
    expect(report.checks.filter((c) => c.status !== 'ok')).toEqual([
      expect.objectContaining({ id: 'template-version', status: 'fail', message: expect.stringMatching(/template version 0\.0\.9, older than this ec2ip \d+\.\d+\.\d+/), fix: "run ec2ip deploy (it keeps the stack's settings)" }),
    ]);
  });
});

describe('ec2ip doctor as a user runs it (dist/cli.mjs)', () => {
  it('exits 2 with what to do when there are no credentials, and prints its help', async () => {
    const env = { PATH: process.env.PATH ?? '', HOME: tempDir(), AWS_CONFIG_FILE: '/nonexistent/aws-config', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials', AWS_EC2_METADATA_DISABLED: 'true', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
    const ran = await runBuilt(['doctor', '--region', 'us-east-1'], env);
    expect(ran.code, show(ran)).toBe(2);
    expect(ran.stderr).toMatch(/^ec2ip doctor: no usable AWS credentials while .*aws configure/);
    expect(ran.stdout).toBe('');
    const help = await runBuilt(['doctor', '--help'], env);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: ec2ip doctor [--stack-name NAME] [--json]');
    const top = await runBuilt(['--help'], env);
    expect(top.stdout).toMatch(/\n {2}doctor {7}check the deployed stack end to end/);
  });
});

describe('ec2ip doctor on a hub', () => {
  // The person running doctor in the DNS account, held to the same policies as on a single account.
  const audit = useIamAudit('cli', { accessKeyId: USER_ACCESS_KEY, policies: [USER_POLICIES.read, USER_POLICIES.reconcile, USER_POLICIES.doctor] });
  const logs = new CloudWatchLogsClient({ endpoint: aws.endpoint, region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });

  it('lists the spokes as the hub sees them, each reachable or not with the reason its function logged', async () => {
    const { ACCOUNT_A, ACCOUNT_B, EXTERNAL_ID } = await import('../support/hub.js');
    const dns = await startDnsStub();
    try {
      const zone = await createZone('example.com');
      audit.edit({ PUBLIC_ZONE_ID: zone });
      const deployed = await cli(['deploy', '--hub', '--skip-build', '--hosted-zone-id', zone, '--spoke-external-id', EXTERNAL_ID, '--spoke-list', `${ACCOUNT_A}:us-east-1,${ACCOUNT_B}:eu-west-1`, '--member-accounts', `${ACCOUNT_A},${ACCOUNT_B}`]);
      expect(deployed.code, show(deployed)).toBe(0);
      dns.zones.set('example.com', (await aws.route53.send(new GetHostedZoneCommand({ Id: zone }))).DelegationSet?.NameServers ?? []);
      // The hub function's lines (functions/sync/read.ts, handler.ts): spoke B's role could not be assumed.
      const stream = { logGroupName: '/aws/lambda/ec2ip', logStreamName: '2026/01/01/[$LATEST]hub' };
      await logs.send(new CreateLogStreamCommand(stream));
      const at = Date.now() - 5 * 60_000;
      await logs.send(
        new PutLogEventsCommand({
          ...stream,
          logEvents: [
            { timestamp: at, message: JSON.stringify({ level: 'ERROR', message: 'spoke unreachable; skipped, its records are kept and its items retried', account: ACCOUNT_B, region: 'eu-west-1', reason: 'AccessDenied: not authorized to perform sts:AssumeRole' }) },
            { timestamp: at + 1, message: JSON.stringify({ level: 'INFO', message: 'reconcile done', instances: 3, unreachable: [`${ACCOUNT_B}/eu-west-1`], refused: 0, failed: 0 }) },
          ],
        }),
      );
      const ran = await cliAs(USER_ACCESS_KEY, ['doctor', '--dns-server', dns.address, '--json']);
      expect(ran.code, show(ran)).toBe(1);
      const report = JSON.parse(ran.stdout) as Report;
      expect(report.checks.filter((c) => c.section === 'hub')).toEqual([
        expect.objectContaining({ id: 'spokes', status: 'ok', message: `2 spokes from the Spokes parameter: ${ACCOUNT_A}:us-east-1, ${ACCOUNT_B}:eu-west-1` }),
        expect.objectContaining({ id: 'spoke-forwarding', resource: `${ACCOUNT_A}:us-east-1`, status: 'ok', message: expect.stringContaining('admits its forwarded events (by account)') }),
        expect.objectContaining({ id: 'spoke-forwarding', resource: `${ACCOUNT_B}:eu-west-1`, status: 'ok' }),
        expect.objectContaining({ id: 'spoke-reachable', resource: `${ACCOUNT_A}:us-east-1`, status: 'ok' }),
        expect.objectContaining({ id: 'spoke-reachable', resource: `${ACCOUNT_B}:eu-west-1`, status: 'fail', message: 'unreachable at the last reconcile: AccessDenied: not authorized to perform sts:AssumeRole', fix: expect.stringContaining('ec2ip deploy --spokes') }),
      ]);
      // The rest of the hub's path is checked as for a single account.
      expect(report.checks.filter((c) => c.section === 'events' && c.status !== 'ok')).toEqual([]);
      expect(report.checks.find((c) => c.id === 'stack-settings')?.message).toMatch(/^hub; /);

      // The bus stops admitting spoke B's account: only its forwarding line fails.
      const bridge = new EventBridgeClient({ endpoint: aws.endpoint, region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
      await bridge.send(new RemovePermissionCommand({ EventBusName: 'ec2ip-spokes', StatementId: 'ec2ip-member-accounts' }));
      await bridge.send(new PutPermissionCommand({ EventBusName: 'ec2ip-spokes', Action: 'events:PutEvents', Principal: ACCOUNT_A, StatementId: 'only-a' }));
      const narrowed = JSON.parse((await cliAs(USER_ACCESS_KEY, ['doctor', '--dns-server', dns.address, '--json'])).stdout) as Report;
      const before = new Map(report.checks.map((c) => [`${c.id} ${c.resource}`, c.status]));
      expect(narrowed.checks.filter((c) => before.get(`${c.id} ${c.resource}`) !== c.status)).toEqual([
        expect.objectContaining({ id: 'spoke-forwarding', resource: `${ACCOUNT_B}:eu-west-1`, status: 'fail', fix: expect.stringContaining(`--member-accounts ${ACCOUNT_B}`) }),
      ]);
    } finally {
      await dns.stop();
    }
  });
});
