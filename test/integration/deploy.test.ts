/**
 * `ec2ip deploy` end to end: the built CLI (dist/cli.mjs, as a user runs it) deploys
 * infra/template.yaml into moto's CloudFormation; the resources are then checked in the
 * services themselves (Lambda, EventBridge, SQS, S3), and a second run changes nothing.
 * Every call the CLI makes is evaluated against infra/user-policy-deploy.json (the deployer's
 * policy of docs/deploying.md) by the IAM audit; the test's own checks go to moto directly.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CloudFormationClient,
  DescribeStackEventsCommand,
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
  ListChangeSetsCommand,
  ListStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { DescribeRuleCommand, EventBridgeClient, ListTargetsByRuleCommand } from '@aws-sdk/client-eventbridge';
import { GetFunctionCommand, LambdaClient, ListEventSourceMappingsCommand } from '@aws-sdk/client-lambda';
import { GetObjectCommand, GetPublicAccessBlockCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { useIamAudit } from '../support/iam-audit.js';
import { createZone, REGION, useMoto } from '../support/moto.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = fileURLToPath(new URL('../../dist/cli.mjs', import.meta.url));
const BUCKET = 'ec2ip-artifacts-123456789012-us-east-1'; // moto's account

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/cli.mjs ...args` with the moto environment and none of the CLI's settings variables. */
function ec2ip(args: string[]): Promise<Run> {
  // One attempt: moto never throttles, and a retried ExecuteChangeSet after a moto crash (HTTP 500)
  // runs a second, partial execution that moto reports as CREATE_COMPLETE.
  const env: NodeJS.ProcessEnv = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', AWS_MAX_ATTEMPTS: '1' };
  for (const k of ['HOSTED_ZONE_ID', 'PRIVATE_HOSTED_ZONE_ID', 'PARAMETER_PREFIX', 'RECORD_TTL', 'ON_STOP', 'OWNER_ID', 'AWS_PROFILE']) delete env[k];
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: ROOT, env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const show = (r: Run) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

describe('ec2ip deploy against moto', () => {
  const aws = useMoto();
  useIamAudit('deployer');
  const config = { endpoint: aws.endpoint, region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  const cfn = new CloudFormationClient(config);
  const lambda = new LambdaClient(config);
  const events = new EventBridgeClient(config);
  const sqs = new SQSClient(config);
  const s3 = new S3Client({ ...config, forcePathStyle: true });

  beforeAll(() => {
    if (!existsSync(CLI) || !existsSync(new URL('../../dist/sync/index.mjs', import.meta.url))) {
      throw new Error('dist/cli.mjs or dist/sync/index.mjs is missing: run `npm run build` (npm run test:integration does)');
    }
  });

  const stack = async (name = 'ec2ip') => (await cfn.send(new DescribeStacksCommand({ StackName: name }))).Stacks?.[0];
  const physical = async (name = 'ec2ip') => {
    const { StackResources = [] } = await cfn.send(new DescribeStackResourcesCommand({ StackName: name }));
    return Object.fromEntries(StackResources.filter((r) => r.LogicalResourceId).map((r) => [r.LogicalResourceId as string, r.PhysicalResourceId as string]));
  };
  const queueArn = async (url: string) =>
    (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn;

  it('creates the stack: function, rules for state and tag changes, schedule, queue and DLQ; a second run changes nothing', async () => {
    const zone = await createZone('example.com');

    const first = await ec2ip(['deploy', '--hosted-zone-id', zone, '--skip-build']);
    expect(first.code, show(first)).toBe(0);
    expect(first.stderr).toMatch(/Uploading s3:\/\/ec2ip-artifacts-123456789012-us-east-1\/ec2ip\/[0-9a-f]{64}\.zip/);
    expect(first.stderr).toMatch(/CREATE_COMPLETE\s+AWS::CloudFormation::Stack\s+ec2ip/);
    expect(first.stderr).toContain('Deployed: the stack ec2ip in us-east-1 is CREATE_COMPLETE');
    expect(first.stdout).toMatch(/SyncFunction\s+ec2ip/); // outputs, or (moto) the resources

    const deployed = await stack();
    expect(deployed?.StackStatus).toBe('CREATE_COMPLETE');
    const params = Object.fromEntries((deployed?.Parameters ?? []).map((p) => [p.ParameterKey, p.ParameterValue]));
    expect(params).toMatchObject({ HostedZoneId: zone, PrivateHostedZoneId: '', ParameterPrefix: '/ec2ip', CodeS3Bucket: BUCKET });
    const key = params.CodeS3Key as string;
    expect(key).toMatch(/^ec2ip\/[0-9a-f]{64}\.zip$/);

    // The uploaded zip is content-addressed, and it is the function's code.
    const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    const zip = Buffer.from(await (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
    expect(`ec2ip/${createHash('sha256').update(zip).digest('hex')}.zip`).toBe(key);
    const block = await s3.send(new GetPublicAccessBlockCommand({ Bucket: BUCKET }));
    expect(block.PublicAccessBlockConfiguration).toMatchObject({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });

    const fn = await lambda.send(new GetFunctionCommand({ FunctionName: 'ec2ip' }));
    expect(fn.Configuration).toMatchObject({ Handler: 'index.handler', Runtime: 'nodejs22.x' });
    expect(fn.Configuration?.CodeSha256).toBe(createHash('sha256').update(zip).digest('base64'));
    expect(fn.Configuration?.Environment?.Variables).toMatchObject({ HOSTED_ZONE_ID: zone, OWNER_ID: 'ec2ip', PARAMETER_PREFIX: '/ec2ip' });
    const functionArn = fn.Configuration?.FunctionArn as string;

    const ids = await physical();
    const eventQueue = await queueArn(ids.EventQueue as string);
    const dlq = await queueArn(ids.DeadLetterQueue as string);
    expect(eventQueue).toMatch(/^arn:aws:sqs:us-east-1:/);
    expect(dlq).toMatch(/^arn:aws:sqs:us-east-1:/);
    expect(dlq).not.toBe(eventQueue);
    const redrive = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: ids.EventQueue, AttributeNames: ['RedrivePolicy'] }))).Attributes?.RedrivePolicy;
    expect(JSON.parse(redrive ?? '{}')).toMatchObject({ deadLetterTargetArn: dlq, maxReceiveCount: 10 });

    const rule = async (logicalId: string) => {
      const name = ids[logicalId] as string;
      const r = await events.send(new DescribeRuleCommand({ Name: name }));
      const { Targets = [] } = await events.send(new ListTargetsByRuleCommand({ Rule: name }));
      return { rule: r, pattern: r.EventPattern ? (JSON.parse(r.EventPattern) as Record<string, unknown>) : undefined, targets: Targets.map((t) => t.Arn) };
    };
    const state = await rule('StateChangeRule');
    expect(state.pattern).toMatchObject({ source: ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'] });
    expect(state.targets).toEqual([eventQueue]);
    const tags = await rule('TagChangeRule');
    expect(tags.pattern).toMatchObject({ source: ['aws.tag'], 'detail-type': ['Tag Change on Resource'] });
    expect(tags.targets).toEqual([eventQueue]);
    const schedule = await rule('ReconcileRule');
    expect(schedule.rule.ScheduleExpression).toBe('rate(15 minutes)');
    expect(schedule.targets).toEqual([functionArn]);

    const { EventSourceMappings = [] } = await lambda.send(new ListEventSourceMappingsCommand({ FunctionName: 'ec2ip' }));
    expect(EventSourceMappings.map((m) => m.EventSourceArn)).toEqual([eventQueue]);
    expect(EventSourceMappings[0]?.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);

    // Second run, same build, same flags: nothing to do, nothing done.
    const eventsBefore = (await cfn.send(new DescribeStackEventsCommand({ StackName: 'ec2ip' }))).StackEvents?.length;
    const changeSetsBefore = (await cfn.send(new ListChangeSetsCommand({ StackName: 'ec2ip' }))).Summaries?.length;
    const second = await ec2ip(['deploy', '--hosted-zone-id', zone, '--skip-build']);
    expect(second.code, show(second)).toBe(0);
    expect(second.stderr).toContain('No changes: the stack ec2ip in us-east-1 is up to date');
    expect(second.stderr).toContain('is already there: nothing to upload');
    expect(second.stderr).not.toMatch(/Uploading|Executing|Change set/);
    const after = await stack();
    expect(after?.StackStatus).toBe('CREATE_COMPLETE');
    expect(after?.LastUpdatedTime).toEqual(deployed?.LastUpdatedTime);
    expect((await cfn.send(new DescribeStackEventsCommand({ StackName: 'ec2ip' }))).StackEvents?.length).toBe(eventsBefore);
    expect((await cfn.send(new ListChangeSetsCommand({ StackName: 'ec2ip' }))).Summaries?.length).toBe(changeSetsBefore);
    expect((await lambda.send(new GetFunctionCommand({ FunctionName: 'ec2ip' }))).Configuration?.CodeSha256).toBe(fn.Configuration?.CodeSha256);

    // Without flags an update keeps the deployed settings: still nothing to do.
    const third = await ec2ip(['deploy', '--skip-build', '--json']);
    expect(third.code, show(third)).toBe(0);
    expect(JSON.parse(third.stdout)).toMatchObject({ stack: 'ec2ip', status: 'CREATE_COMPLETE', changed: false });

    // A changed setting is an update.
    const fourth = await ec2ip(['deploy', '--skip-build', '--ttl', '300']);
    expect(fourth.code, show(fourth)).toBe(0);
    expect(fourth.stderr).toContain('RecordTtl: "60" -> "300"');
    expect(fourth.stderr).toMatch(/UPDATE_COMPLETE\s+AWS::CloudFormation::Stack\s+ec2ip/);
    const vars = (await lambda.send(new GetFunctionCommand({ FunctionName: 'ec2ip' }))).Configuration?.Environment?.Variables ?? {};
    // String(): moto passes a Number parameter through as a number.
    expect({ ttl: String(vars.RECORD_TTL), zone: vars.HOSTED_ZONE_ID }).toEqual({ ttl: '300', zone });
  });

  it('--dry-run shows the change set and changes nothing', async () => {
    const zone = await createZone('example.com');
    const dry = await ec2ip(['deploy', '--hosted-zone-id', zone, '--skip-build', '--dry-run']);
    expect(dry.code, show(dry)).toBe(0);
    expect(dry.stderr).toContain(`Would create s3://${BUCKET}`);
    expect(dry.stderr).toMatch(/Add\s+SyncFunction\s+AWS::Lambda::Function/);
    expect(dry.stderr).toMatch(/Add\s+EventQueue\s+AWS::SQS::Queue/);
    expect(dry.stderr).toContain(`HostedZoneId: "${zone}"`);
    expect(dry.stderr).toContain('Dry run: the change set was deleted; nothing changed.');
    // No stack left behind (not even an empty REVIEW_IN_PROGRESS one), no bucket created.
    const { StackSummaries = [] } = await cfn.send(new ListStacksCommand({}));
    expect(StackSummaries.filter((s) => s.StackName === 'ec2ip' && s.StackStatus !== 'DELETE_COMPLETE')).toEqual([]);
    expect((await s3.send(new ListBucketsCommand({}))).Buckets ?? []).toEqual([]);

    // On a deployed stack: shows the parameter change, leaves the stack as it was.
    expect((await ec2ip(['deploy', '--hosted-zone-id', zone, '--skip-build'])).code).toBe(0);
    const before = await stack();
    const changeSetsBefore = (await cfn.send(new ListChangeSetsCommand({ StackName: 'ec2ip' }))).Summaries?.length;
    const update = await ec2ip(['deploy', '--skip-build', '--on-stop', 'keep', '--dry-run']);
    expect(update.code, show(update)).toBe(0);
    expect(update.stderr).toContain('OnStop: "delete" -> "keep"');
    expect(update.stderr).toContain('updates the stack ec2ip');
    const after = await stack();
    expect(after?.Parameters).toEqual(before?.Parameters);
    expect(after?.StackStatus).toBe('CREATE_COMPLETE');
    expect((await cfn.send(new ListChangeSetsCommand({ StackName: 'ec2ip' }))).Summaries?.length).toBe(changeSetsBefore);
  });

  it('refuses bad usage with exit 2 and creates nothing', async () => {
    const noZone = await ec2ip(['deploy', '--skip-build']);
    expect(noZone.code, show(noZone)).toBe(2);
    expect(noZone.stderr).toContain('--hosted-zone-id');
    const badTtl = await ec2ip(['deploy', '--hosted-zone-id', 'Z1', '--ttl', 'soon', '--skip-build']);
    expect(badTtl.code, show(badTtl)).toBe(2);
    expect(badTtl.stderr).toContain('--ttl soon');
    expect((await s3.send(new ListBucketsCommand({}))).Buckets ?? []).toEqual([]);
    const { StackSummaries = [] } = await cfn.send(new ListStacksCommand({}));
    expect(StackSummaries).toEqual([]);
  });

  it('prints its help', async () => {
    const help = await ec2ip(['deploy', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: ec2ip deploy');
    const all = await ec2ip(['--help']);
    expect(all.stdout).toMatch(/deploy\s+build and deploy the stack/);
  });

  // --bucket: the deployer's policy names that bucket instead of ec2ip-artifacts-* (docs/deploying.md).
  describe('with --bucket', () => {
    useIamAudit('deployer', { codeBucket: 'acme-ec2ip-code-us-east-1' });

    it('--upload-only stages the zip in a named bucket and creates no stack', async () => {
      const run = await ec2ip(['deploy', '--skip-build', '--upload-only', '--bucket', 'acme-ec2ip-code-us-east-1', '--json']);
      expect(run.code, show(run)).toBe(0);
      const out = JSON.parse(run.stdout) as { bucket: string; key: string; sha256: string; region: string };
      expect(out).toMatchObject({ region: 'us-east-1', bucket: 'acme-ec2ip-code-us-east-1', key: `ec2ip/${out.sha256}.zip` });
      const object = await s3.send(new GetObjectCommand({ Bucket: out.bucket, Key: out.key }));
      const zip = Buffer.from(await (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
      expect(createHash('sha256').update(zip).digest('hex')).toBe(out.sha256);
      expect((await cfn.send(new ListStacksCommand({}))).StackSummaries ?? []).toEqual([]);
      // Again: already there, nothing uploaded.
      const again = await ec2ip(['deploy', '--skip-build', '--upload-only', '--bucket', 'acme-ec2ip-code-us-east-1']);
      expect(again.code, show(again)).toBe(0);
      expect(again.stderr).toContain('is already there: nothing to upload');
      expect(again.stdout).toBe(`CodeS3Bucket  acme-ec2ip-code-us-east-1\nCodeS3Key     ${out.key}\n`);
    });
    });
});
