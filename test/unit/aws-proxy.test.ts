/** The test proxy (test/support/aws-proxy.ts) against a stub upstream: no moto needed. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { actionOf, countCalls, mulberry32, sequentialRounds, serviceOf, startProxy, type AwsProxy } from '../support/aws-proxy.js';

let upstream: Server;
let upstreamUrl: string;
let proxy: AwsProxy | undefined;
let upstreamHits = 0;

beforeEach(async () => {
  upstreamHits = 0;
  upstream = createServer((req, res) => {
    upstreamHits++;
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify({ Parameter: { Name: '/x', Value: 'v' } }));
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});

afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
  await new Promise<void>((r) => upstream.close(() => r()));
});

const config = (endpoint: string, extra: object = {}) => ({
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  maxAttempts: 1,
  ...extra,
});

describe('identifying requests', () => {
  it('reads the service from the SigV4 credential scope', () => {
    expect(serviceOf('AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=abc')).toBe('ec2');
    expect(serviceOf('AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/route53/aws4_request, SignedHeaders=host')).toBe('route53');
    expect(serviceOf(undefined)).toBe('unknown');
  });

  it('reads the action from X-Amz-Target, the Action form parameter or the Route 53 path', () => {
    expect(actionOf('ssm', { headers: { 'x-amz-target': 'AmazonSSM.GetParametersByPath' }, method: 'POST', url: '/' }, '{}')).toBe('GetParametersByPath');
    expect(actionOf('ec2', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, method: 'POST', url: '/' }, 'Action=DescribeInstances&Version=2016-11-15')).toBe('DescribeInstances');
    expect(actionOf('route53', { headers: {}, method: 'GET', url: '/2013-04-01/hostedzone/Z1/rrset?maxitems=300' }, '')).toBe('ListResourceRecordSets');
    expect(actionOf('route53', { headers: {}, method: 'POST', url: '/2013-04-01/hostedzone/Z1/rrset/' }, '<xml/>')).toBe('ChangeResourceRecordSets');
    expect(actionOf('route53', { headers: {}, method: 'GET', url: '/2013-04-01/hostedzone/Z1' }, '')).toBe('GetHostedZone');
    expect(actionOf('route53', { headers: {}, method: 'GET', url: '/2013-04-01/healthcheck' }, '')).toBe('GET /2013-04-01/healthcheck');
  });

  it('logs what the real SDK clients send, with start and end times', async () => {
    proxy = await startProxy({ target: upstreamUrl });
    const ssm = new SSMClient(config(proxy.url));
    await ssm.send(new GetParameterCommand({ Name: '/x' }));
    await new EC2Client(config(proxy.url)).send(new DescribeInstancesCommand({})).catch(() => undefined);
    await new Route53Client(config(proxy.url)).send(new ListResourceRecordSetsCommand({ HostedZoneId: 'Z1' })).catch(() => undefined);
    expect(proxy.requests.map((r) => `${r.service}:${r.action}`)).toEqual(['ssm:GetParameter', 'ec2:DescribeInstances', 'route53:ListResourceRecordSets']);
    expect(proxy.requests[0]).toMatchObject({ seq: 1, outcome: 'forwarded', status: 200 });
    expect(proxy.requests[0]?.end).toBeGreaterThanOrEqual(proxy.requests[0]?.start ?? Infinity);
    expect(countCalls(proxy.requests)).toEqual({ 'ssm:GetParameter': 1, 'ec2:DescribeInstances': 1, 'route53:ListResourceRecordSets': 1 });
  });
});

describe('delay', () => {
  it('holds each request for delayMs before answering', async () => {
    proxy = await startProxy({ target: upstreamUrl, delayMs: 80 });
    const t0 = performance.now();
    await new SSMClient(config(proxy.url)).send(new GetParameterCommand({ Name: '/x' }));
    expect(performance.now() - t0).toBeGreaterThanOrEqual(75);
  });

  it('takes a function of the request, and setOptions changes it', async () => {
    proxy = await startProxy({ target: upstreamUrl, delayMs: 0 });
    proxy.setOptions({ delayMs: (r) => (r.action === 'GetParameter' ? 60 : 0) });
    const t0 = performance.now();
    await new SSMClient(config(proxy.url)).send(new GetParameterCommand({ Name: '/x' }));
    expect(performance.now() - t0).toBeGreaterThanOrEqual(55);
  });
});

describe('throttling answers the SDK understands', () => {
  it('SSM: 400 ThrottlingException once the bucket is empty, per action', async () => {
    proxy = await startProxy({ target: upstreamUrl, rateLimits: [{ service: 'ssm', action: 'GetParameter', perSecond: 1, burst: 2 }] });
    const ssm = new SSMClient(config(proxy.url));
    await ssm.send(new GetParameterCommand({ Name: '/x' }));
    await ssm.send(new GetParameterCommand({ Name: '/x' }));
    const error = await ssm.send(new GetParameterCommand({ Name: '/x' })).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
    expect(proxy.requests.map((r) => r.outcome)).toEqual(['forwarded', 'forwarded', 'throttled']);
    expect(upstreamHits).toBe(2);
  });

  it('refills the bucket at perSecond', async () => {
    proxy = await startProxy({ target: upstreamUrl, rateLimits: [{ service: 'ssm', perSecond: 20, burst: 1 }] });
    const ssm = new SSMClient(config(proxy.url));
    await ssm.send(new GetParameterCommand({ Name: '/x' }));
    await new Promise((r) => setTimeout(r, 80));
    await expect(ssm.send(new GetParameterCommand({ Name: '/x' }))).resolves.toBeDefined();
  });

  it('Route 53: 400 Throttling or PriorRequestNotComplete', async () => {
    proxy = await startProxy({ target: upstreamUrl, rateLimits: [{ service: 'route53', perSecond: 1, burst: 1, code: 'PriorRequestNotComplete' }] });
    const route53 = new Route53Client(config(proxy.url));
    await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: 'Z1' })).catch(() => undefined);
    const error = await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: 'Z1' })).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'PriorRequestNotComplete', $metadata: { httpStatusCode: 400 } });
    proxy.setOptions({ rateLimits: [{ service: 'route53', perSecond: 1, burst: 1 }] });
    await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: 'Z1' })).catch(() => undefined);
    expect(await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: 'Z1' })).catch((e: unknown) => e)).toMatchObject({ name: 'Throttling' });
  });

  it('EC2: 503 RequestLimitExceeded', async () => {
    proxy = await startProxy({ target: upstreamUrl, rateLimits: [{ service: 'ec2', perSecond: 1, burst: 1 }] });
    const ec2 = new EC2Client(config(proxy.url));
    await ec2.send(new DescribeInstancesCommand({})).catch(() => undefined);
    const error = await ec2.send(new DescribeInstancesCommand({})).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'RequestLimitExceeded', $metadata: { httpStatusCode: 503 } });
  });

  it('is retried by the SDK like AWS throttling', async () => {
    proxy = await startProxy({ target: upstreamUrl, rateLimits: [{ service: 'ssm', perSecond: 10, burst: 1 }] });
    const ssm = new SSMClient(config(proxy.url, { maxAttempts: 5 }));
    await Promise.all([ssm.send(new GetParameterCommand({ Name: '/x' })), ssm.send(new GetParameterCommand({ Name: '/x' }))]);
    expect(proxy.requests.filter((r) => r.outcome === 'throttled').length).toBeGreaterThanOrEqual(1);
    expect(upstreamHits).toBe(2);
  });
});

describe('faults', () => {
  it('500s and throttling per service, as the SDK expects them', async () => {
    proxy = await startProxy({ target: upstreamUrl, faults: { rate: 1, kinds: ['500'], services: ['ssm'], seed: 7 } });
    const ssm = new SSMClient(config(proxy.url));
    expect(await ssm.send(new GetParameterCommand({ Name: '/x' })).catch((e: unknown) => e)).toMatchObject({ name: 'InternalServerError', $metadata: { httpStatusCode: 500 } });
    proxy.setOptions({ faults: { rate: 1, kinds: ['throttle'], seed: 7 } });
    expect(await ssm.send(new GetParameterCommand({ Name: '/x' })).catch((e: unknown) => e)).toMatchObject({ name: 'ThrottlingException' });
    expect(proxy.requests.map((r) => r.outcome)).toEqual(['fault:500', 'fault:throttle']);
    expect(upstreamHits).toBe(0);
  });

  it('leaves other services alone', async () => {
    proxy = await startProxy({ target: upstreamUrl, faults: { rate: 1, kinds: ['500'], services: ['ec2'] } });
    await expect(new SSMClient(config(proxy.url)).send(new GetParameterCommand({ Name: '/x' }))).resolves.toBeDefined();
  });

  it('timeout: never answers, so the client times out; stop() releases it', async () => {
    proxy = await startProxy({ target: upstreamUrl, faults: { rate: 1, kinds: ['timeout'] } });
    const ssm = new SSMClient(config(proxy.url, { requestHandler: { requestTimeout: 200, throwOnRequestTimeout: true } }));
    const t0 = performance.now();
    const error = await ssm.send(new GetParameterCommand({ Name: '/x' })).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'TimeoutError' });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(190);
  });

  it('reset: destroys the socket', async () => {
    proxy = await startProxy({ target: upstreamUrl, faults: { rate: 1, kinds: ['reset'] } });
    const error = (await new SSMClient(config(proxy.url)).send(new GetParameterCommand({ Name: '/x' })).catch((e: unknown) => e)) as { code?: string; name?: string };
    expect(error.code ?? error.name).toMatch(/ECONNRESET|socket hang up|EPIPE/i);
    expect(proxy.requests[0]?.outcome).toBe('fault:reset');
  });

  it('is reproducible for a seed', async () => {
    const outcomes = async (seed: number) => {
      const p = await startProxy({ target: upstreamUrl, faults: { rate: 0.5, kinds: ['500', 'throttle'], seed } });
      const ssm = new SSMClient(config(p.url));
      for (let i = 0; i < 12; i++) await ssm.send(new GetParameterCommand({ Name: '/x' })).catch(() => undefined);
      await p.stop();
      return p.requests.map((r) => r.outcome);
    };
    const a = await outcomes(42);
    expect(await outcomes(42)).toEqual(a);
    expect(new Set(a).size).toBeGreaterThan(1);
    expect(await outcomes(43)).not.toEqual(a);
  });

  it('mulberry32 gives numbers in [0, 1)', () => {
    const next = mulberry32(3);
    const values = Array.from({ length: 1000 }, next);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(1);
  });
});

describe('sequentialRounds', () => {
  it('counts overlapping requests as one round and chains as several', () => {
    expect(sequentialRounds([])).toBe(0);
    expect(sequentialRounds([{ start: 0, end: 10 }, { start: 1, end: 11 }, { start: 2, end: 9 }])).toBe(1);
    expect(sequentialRounds([{ start: 0, end: 10 }, { start: 1, end: 11 }, { start: 12, end: 20 }, { start: 21, end: 30 }])).toBe(3);
    // A request that started after only the first one ended is still in round 2.
    expect(sequentialRounds([{ start: 0, end: 5 }, { start: 0, end: 20 }, { start: 6, end: 15 }])).toBe(2);
    expect(sequentialRounds([{ start: 0 }, { start: 1, end: 2 }])).toBe(1);
  });
});
