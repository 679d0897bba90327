/**
 * The Lambda bundle drops the SDK's error classes (scripts/esbuild/prune-sdk-schemas.mjs,
 * `dropErrorClasses`). This checks, on moto and through the fault proxy, that every error ec2ip
 * reacts to comes out of that build exactly as it does with the classes: the same name,
 * message, fault, status, retries and classification by ec2ip's own code.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lambdaOptions } from '../../scripts/esbuild/options.mjs';
import { startProxy, type FaultKind } from '../support/aws-proxy.js';
import { createZone, resetMoto, useMoto } from '../support/moto.js';
import type { ProbedError } from '../support/sdk-error-probe.js';
import { useIamAudit } from '../support/iam-audit.js';

type Probe = (env: Record<string, string | undefined>, zoneId: string, only?: readonly string[]) => Promise<ProbedError[]>;

const DIRECT = [
  'route53: CREATE of an existing record',
  'route53: DELETE of values that do not match',
  'route53: a zone that does not exist',
  'ssm: a parameter that does not exist',
  'ssm: a parameter that exists, without Overwrite',
  'ec2: an instance that does not exist',
];
const THROTTLED = ['ssm: throttled', 'route53: throttled'];
const INTERNAL = ['ssm: internal error', 'route53: internal error'];

describe('SDK errors in the Lambda bundle, whose error classes are dropped', () => {
  const aws = useMoto();
  // The probe's calls as the function's role makes them: a stack whose prefix is the probe's,
  // whose public zone is the one each run creates and whose private zone was deleted since (the
  // only way the deployed function meets NoSuchHostedZone: the role names no other zone).
  const audit = useIamAudit('function');
  const STACK = { PARAMETER_PREFIX: '/ec2ip-probe', PRIVATE_HOSTED_ZONE_ID: 'Z0000000000NOSUCHZONE' };
  const saved = Object.fromEntries(['HOSTED_ZONE_ID', ...Object.keys(STACK)].map((k) => [k, process.env[k]]));
  const dir = mkdtempSync(join(tmpdir(), 'ec2ip-error-probe-'));
  const probes: { lambda?: Probe; withClasses?: Probe } = {};

  beforeAll(async () => {
    const entry = new URL('../support/sdk-error-probe.ts', import.meta.url).pathname;
    for (const [key, dropErrorClasses] of [['lambda', true], ['withClasses', false]] as const) {
      const options = lambdaOptions(join(dir, key), { dropErrorClasses });
      await build({ ...options, entryPoints: { probe: entry }, sourcemap: false, logLevel: 'error' });
      probes[key] = ((await import(pathToFileURL(join(dir, key, 'probe.mjs')).href)) as { probeErrors: Probe }).probeErrors;
    }
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  const env = (endpoint: string) => ({
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    // Two attempts, so that a retry shows in $metadata.attempts.
    AWS_MAX_ATTEMPTS: '2',
    EC2IP_REQUEST_TIMEOUT_MS: '5000',
  });

  const both = async (endpoint: string, only: readonly string[]) => {
    // The audit reads the stack's settings from the environment at each call.
    Object.assign(process.env, STACK);
    const zoneId = await createZone('example.com');
    process.env.HOSTED_ZONE_ID = zoneId;
    const lambda = await probes.lambda!(env(endpoint), zoneId, only);
    await resetMoto();
    const zoneId2 = await createZone('example.com');
    process.env.HOSTED_ZONE_ID = zoneId2;
    const withClasses = await probes.withClasses!(env(endpoint), zoneId2, only);
    // Zone ids differ between the two runs; nothing else may.
    const strip = (list: ProbedError[], id: string) => list.map((e) => ({ ...e, message: e.message.replaceAll(id, '<zone>'), logged: e.logged.replaceAll(id, '<zone>') }));
    return { lambda: strip(lambda, zoneId), withClasses: strip(withClasses, zoneId2) };
  };

  it('the two builds differ only in the error classes', async () => {
    // The build with classes holds them; the Lambda's does not (otherwise this test proves nothing).
    const { readFileSync } = await import('node:fs');
    const lambda = readFileSync(join(dir, 'lambda', 'probe.mjs'), 'utf8');
    const withClasses = readFileSync(join(dir, 'withClasses', 'probe.mjs'), 'utf8');
    expect(withClasses).toContain('ParameterAlreadyExists');
    expect(withClasses).toContain('CidrBlockInUseException');
    expect(lambda).not.toContain('CidrBlockInUseException');
    expect(lambda.length).toBeLessThan(withClasses.length - 40_000);
  });

  it('errors that moto answers come out the same', async () => {
    // Through the audit's proxy (useIamAudit points the SDK's environment at it).
    const { lambda, withClasses } = await both(process.env.AWS_ENDPOINT_URL ?? '', DIRECT);
    expect(lambda.map((e) => e.case)).toEqual(DIRECT);
    expect(lambda).toEqual(withClasses);
    const byCase = new Map(lambda.map((e) => [e.case, e]));
    expect(byCase.get('route53: CREATE of an existing record')).toMatchObject({ name: 'InvalidChangeBatch', rejectedBatch: true, fault: 'client', status: 400, isError: true });
    expect(byCase.get('route53: CREATE of an existing record')?.message).toMatch(/already exists/);
    expect(byCase.get('route53: a zone that does not exist')).toMatchObject({ name: 'NoSuchHostedZone', status: 404 });
    expect(byCase.get('ssm: a parameter that does not exist')).toMatchObject({ name: 'ParameterNotFound', status: 400 });
    expect(byCase.get('ssm: a parameter that exists, without Overwrite')).toMatchObject({ name: 'ParameterAlreadyExists' });
    expect(byCase.get('ec2: an instance that does not exist')).toMatchObject({ name: 'InvalidInstanceID.NotFound' });
  });

  for (const [kind, cases, name] of [
    ['throttle', THROTTLED, /^(ThrottlingException|Throttling)$/],
    ['500', INTERNAL, /^(InternalServerError|InternalFailure)$/],
  ] as const) {
    it(`${kind === 'throttle' ? 'throttling' : 'internal errors'} from the fault proxy come out the same and are retried the same`, async () => {
      const proxy = await startProxy({ ...audit.hooks, target: aws.endpoint, faults: { rate: 1, kinds: [kind as FaultKind], services: ['ssm', 'route53'], actions: ['GetParameter', 'ListResourceRecordSets'] } });
      try {
        const { lambda, withClasses } = await both(proxy.url, cases);
        expect(lambda.map((e) => e.case)).toEqual(cases);
        expect(lambda).toEqual(withClasses);
        for (const e of lambda) {
          expect(e.name).toMatch(name);
          // Retried by the SDK: both attempts were made.
          expect(e.attempts).toBe(2);
        }
      } finally {
        await proxy.stop();
      }
    });
  }
});
