/**
 * A delaying, throttling, fault-injecting HTTP proxy for the AWS APIs ec2ip calls (EC2,
 * Route 53, SSM), meant to sit between the real SDK and moto. Moto answers instantly, never
 * throttles and never fails; AWS does all three. Point the SDK at the proxy instead of moto:
 *
 *   const proxy = await startProxy({ target: motoEndpoint, delayMs: 50 });
 *   process.env.AWS_ENDPOINT_URL = proxy.url;
 *   …
 *   proxy.requests      // the log: one entry per request, in arrival order
 *   await proxy.stop();
 *
 * What it does to each request, in this order:
 * 1. Identifies the service from the SigV4 credential scope of the Authorization header
 *    (`Credential=AKID/20250101/us-east-1/ec2/aws4_request` → `ec2`) and the action from
 *    `X-Amz-Target` (JSON protocols: SSM), the `Action` form parameter (query protocol: EC2)
 *    or the method and path (REST: Route 53, e.g. `POST …/hostedzone/Z1/rrset` →
 *    `ChangeResourceRecordSets`).
 * 2. Waits `delayMs` (the network and service latency L of a real call).
 * 3. Fault injection: with probability `faults.rate`, for the listed services, answers with one
 *    of `faults.kinds` picked by a seeded RNG (reproducible for one request order):
 *    `500` (the service's internal error), `throttle` (its throttling error), `timeout` (never
 *    answers: the client's request timeout must fire) or `reset` (destroys the socket).
 * 4. Rate limiting: a token bucket per rule (`perSecond`, `burst`); an empty bucket answers
 *    the way the service throttles — Route 53: 400 `Throttling` (or `PriorRequestNotComplete`),
 *    SSM: 400 `ThrottlingException`, EC2: 503 `RequestLimitExceeded` — so the SDK's retry
 *    strategy sees exactly what AWS would send.
 * 5. Access denial: a request `deny` matches gets the service's 403 `AccessDenied` (moto
 *    enforces no IAM policy, trust policy or external id, so a denied AssumeRole is made here).
 * 6. `respond`, if given, may answer the request itself (a recorded AWS answer).
 * 7. Otherwise forwards the request to `target` and streams the answer back.
 *
 * The log records every request with its outcome and start/end times (ms since the proxy
 * started), so a test or the bench can count calls per action and the sequential rounds an
 * operation took (`sequentialRounds`).
 */
import { randomUUID } from 'node:crypto';
import { Agent, createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

export type Service = 'ec2' | 'route53' | 'ssm' | (string & {});
export type FaultKind = '500' | 'throttle' | 'timeout' | 'reset';
export type Outcome = 'forwarded' | 'answered' | 'throttled' | 'denied' | `fault:${FaultKind}` | 'error';

export interface RateLimit {
  service: Service;
  /** An action name (`PutParameter`); absent: every action of the service shares the bucket. */
  action?: string;
  /** Sustained requests per second. */
  perSecond: number;
  /** Bucket size: requests allowed at once after a quiet spell. Default: max(1, perSecond). */
  burst?: number;
  /** Route 53 only: the error code to answer with. Default `Throttling`. */
  code?: 'Throttling' | 'PriorRequestNotComplete';
}

export interface FaultOptions {
  /** Probability (0–1) that a matching request gets a fault. */
  rate: number;
  /** Kinds to choose from, uniformly. */
  kinds: readonly FaultKind[];
  /** Services affected; default all. */
  services?: readonly Service[];
  /** Actions affected; default all. */
  actions?: readonly string[];
  /** Seed of the RNG; the same seed and request order give the same faults. Default 1. */
  seed?: number;
}

export interface ProxyOptions {
  /** Where to forward, e.g. moto's `http://127.0.0.1:5000`. */
  target: string;
  /** Delay before each request is handled, in ms (a number, or per request). Default 0. */
  delayMs?: number | ((request: Pick<ProxyRequest, 'service' | 'action'>) => number);
  rateLimits?: readonly RateLimit[];
  faults?: FaultOptions;
  /** Port to listen on (127.0.0.1); default a free one. */
  port?: number;
  /**
   * Answers a request itself instead of moto (after delay, faults and rate limits): a recorded
   * AWS answer for what moto cannot give, such as an instance's console output. Undefined: forward.
   */
  respond?: (request: Pick<ProxyRequest, 'service' | 'action'> & { body: string }) => Answer | undefined;
  /** Requests to answer with 403 AccessDenied, e.g. an AssumeRole of one role ARN (the form body is given). */
  deny?: (request: Pick<ProxyRequest, 'service' | 'action'> & { body: string }) => boolean;
  /**
   * Sees every request as it arrives, before anything else happens to it, and may look things
   * up first (awaited): the IAM audit (test/support/iam-audit.ts) records each call this way.
   */
  inspect?: (request: RawRequest) => Promise<void> | void;
  /** Sees the whole answer of every forwarded request (e.g. the credentials an AssumeRole gave). */
  observe?: (request: RawRequest, status: number, body: Buffer) => void;
}

/** A request as it came in: what an inspector needs to know who made it and on what. */
export interface RawRequest {
  service: Service;
  region?: string;
  action: string;
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface ProxyRequest {
  /** 1, 2, … in arrival order. */
  seq: number;
  service: Service;
  /** The region of the SigV4 credential scope: whose account and region a hub's call is for. */
  region?: string;
  action: string;
  method: string;
  path: string;
  /** ms since the proxy started, when the request arrived and when its answer was complete. */
  start: number;
  end?: number;
  status?: number;
  outcome?: Outcome;
}

export interface AwsProxy {
  /** Base URL to use as the SDK's endpoint (`AWS_ENDPOINT_URL`). */
  url: string;
  /** The request log, in arrival order. Clear it with `requests.length = 0`. */
  readonly requests: ProxyRequest[];
  /** Changes delay, rate limits or faults from the next request on (the fields given replace the old ones; `null` clears). */
  setOptions(options: { delayMs?: ProxyOptions['delayMs']; rateLimits?: readonly RateLimit[] | null; faults?: FaultOptions | null }): void;
  /** Closes the server and every connection, including requests held by `timeout` faults. */
  stop(): Promise<void>;
}

interface Bucket {
  rule: RateLimit;
  tokens: number;
  last: number;
}

/** Starts the proxy on 127.0.0.1. */
export async function startProxy(options: ProxyOptions): Promise<AwsProxy> {
  const target = new URL(options.target);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const t0 = performance.now();
  const requests: ProxyRequest[] = [];
  const held = new Set<ServerResponse>();
  const sockets = new Set<Socket>();
  let delayMs = options.delayMs ?? 0;
  let buckets = makeBuckets(options.rateLimits);
  let faults = options.faults;
  let rng = mulberry32(faults?.seed ?? 1);
  let stopped = false;

  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`aws-proxy: ${String(error)}`);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const service = serviceOf(req.headers.authorization);
    const region = regionOf(req.headers.authorization);
    const entry: ProxyRequest = {
      seq: requests.length + 1,
      service,
      ...(region ? { region } : {}),
      action: actionOf(service, req, body),
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      start: now(),
    };
    requests.push(entry);
    const raw: RawRequest = { service, ...(region ? { region } : {}), action: entry.action, method: entry.method, path: entry.path, headers: req.headers, body: body.toString('utf8') };
    if (options.inspect) await options.inspect(raw);
    const finish = (outcome: Outcome, status?: number) => {
      entry.outcome = outcome;
      if (status !== undefined) entry.status = status;
      entry.end = now();
    };

    const delay = typeof delayMs === 'function' ? delayMs(entry) : delayMs;
    if (delay > 0) await sleep(delay);
    if (stopped) return void req.socket.destroy();

    const fault = pickFault(entry);
    if (fault === 'reset') {
      finish('fault:reset');
      req.socket.destroy();
      return;
    }
    if (fault === 'timeout') {
      // Never answer; the client's timeout fires (or stop() ends it).
      held.add(res);
      res.once('close', () => {
        held.delete(res);
        finish('fault:timeout');
      });
      return;
    }
    if (fault === '500' || fault === 'throttle') {
      const answer = fault === '500' ? internalError(service) : throttlingError(service, 'Throttling');
      send(res, answer);
      finish(`fault:${fault}`, answer.status);
      return;
    }
    const limited = takeToken(entry);
    if (limited) {
      const answer = throttlingError(service, limited.rule.code ?? 'Throttling');
      send(res, answer);
      finish('throttled', answer.status);
      return;
    }
    if (options.deny?.({ service, action: entry.action, body: body.toString('utf8') })) {
      const answer = accessDenied(service);
      send(res, answer);
      finish('denied', answer.status);
      return;
    }
    const own = options.respond?.({ service: entry.service, action: entry.action, body: body.toString('utf8') });
    if (own) {
      send(res, own);
      finish('answered', own.status);
      return;
    }
    await forward(req, body, res, finish, options.observe ? (status, answer) => options.observe?.(raw, status, answer) : undefined);
  }

  function forward(
    req: IncomingMessage,
    body: Buffer,
    res: ServerResponse,
    finish: (o: Outcome, s?: number) => void,
    observe?: (status: number, answer: Buffer) => void,
  ): Promise<void> {
    return new Promise((resolve) => {
      const upstream = httpRequest(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          const chunks: Buffer[] = [];
          if (observe) answer.on('data', (c: Buffer) => chunks.push(c));
          answer.pipe(res);
          answer.once('end', () => {
            observe?.(answer.statusCode ?? 502, Buffer.concat(chunks));
            finish('forwarded', answer.statusCode);
            resolve();
          });
          answer.once('error', () => resolve());
        },
      );
      upstream.once('error', (error) => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`aws-proxy: upstream error: ${error.message}`);
        finish('error', 502);
        resolve();
      });
      upstream.end(body);
    });
  }

  function pickFault(entry: ProxyRequest): FaultKind | undefined {
    if (!faults || faults.rate <= 0 || faults.kinds.length === 0) return undefined;
    if (faults.services && !faults.services.includes(entry.service)) return undefined;
    if (faults.actions && !faults.actions.includes(entry.action)) return undefined;
    if (rng() >= faults.rate) return undefined;
    return faults.kinds[Math.floor(rng() * faults.kinds.length)];
  }

  /** Takes a token from every bucket that applies; returns the first empty one. */
  function takeToken(entry: ProxyRequest): Bucket | undefined {
    const at = now();
    const applicable = buckets.filter((b) => b.rule.service === entry.service && (b.rule.action === undefined || b.rule.action === entry.action));
    for (const b of applicable) {
      const capacity = b.rule.burst ?? Math.max(1, b.rule.perSecond);
      b.tokens = Math.min(capacity, b.tokens + ((at - b.last) / 1000) * b.rule.perSecond);
      b.last = at;
    }
    const empty = applicable.find((b) => b.tokens < 1);
    if (empty) return empty;
    for (const b of applicable) b.tokens -= 1;
    return undefined;
  }

  function now(): number {
    return Math.round((performance.now() - t0) * 1000) / 1000;
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    setOptions(next) {
      if (next.delayMs !== undefined) delayMs = next.delayMs;
      if (next.rateLimits !== undefined) buckets = makeBuckets(next.rateLimits ?? undefined);
      if (next.faults !== undefined) {
        faults = next.faults ?? undefined;
        rng = mulberry32(faults?.seed ?? 1);
      }
    },
    async stop() {
      stopped = true;
      for (const res of held) res.destroy();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}

function makeBuckets(rules: readonly RateLimit[] | undefined): Bucket[] {
  // Full buckets; `last` is refreshed (and the refill capped) at the first request.
  return (rules ?? []).map((rule) => ({ rule, tokens: rule.burst ?? Math.max(1, rule.perSecond), last: 0 }));
}

/** The whole body of a request. */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The service of a SigV4-signed request: the credential scope's third part. `unknown` if unsigned. */
export function serviceOf(authorization: string | undefined): Service {
  const match = /Credential=[^/,\s]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(authorization ?? '');
  return match?.[1] ?? 'unknown';
}

const ROUTE53_PATHS: [string, RegExp, string][] = [
  ['GET', /\/hostedzone\/[^/]+\/rrset\/?$/, 'ListResourceRecordSets'],
  ['POST', /\/hostedzone\/[^/]+\/rrset\/?$/, 'ChangeResourceRecordSets'],
  ['GET', /\/hostedzone\/[^/]+\/?$/, 'GetHostedZone'],
  ['DELETE', /\/hostedzone\/[^/]+\/?$/, 'DeleteHostedZone'],
  ['GET', /\/hostedzone\/?$/, 'ListHostedZones'],
  ['POST', /\/hostedzone\/?$/, 'CreateHostedZone'],
  ['GET', /\/change\/[^/]+\/?$/, 'GetChange'],
];

/** The region of a SigV4-signed request: the credential scope's second part. */
export function regionOf(authorization: string | undefined): string | undefined {
  return /Credential=[^/,\s]+\/\d{8}\/([^/]+)\/[^/]+\/aws4_request/.exec(authorization ?? '')?.[1];
}

/** The API action of a request, from X-Amz-Target, the Action form parameter or (Route 53) the path. */
export function actionOf(service: Service, req: Pick<IncomingMessage, 'headers' | 'method' | 'url'>, body: Buffer | string): string {
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string' && target.includes('.')) return target.slice(target.lastIndexOf('.') + 1);
  const url = new URL(req.url ?? '/', 'http://proxy');
  const text = typeof body === 'string' ? body : body.toString('utf8');
  const form = (req.headers['content-type'] ?? '').includes('x-www-form-urlencoded') ? new URLSearchParams(text).get('Action') : null;
  const action = form ?? url.searchParams.get('Action');
  if (action) return action;
  if (service === 'route53') {
    const method = req.method ?? 'GET';
    for (const [m, pattern, name] of ROUTE53_PATHS) if (m === method && pattern.test(url.pathname)) return name;
  }
  return `${req.method ?? 'GET'} ${url.pathname}`;
}

/** An HTTP answer as the service sends it. */
export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function send(res: ServerResponse, answer: Answer): void {
  res.writeHead(answer.status, { ...answer.headers, 'content-length': String(Buffer.byteLength(answer.body)) });
  res.end(answer.body);
}

/** The service's throttling answer, as AWS sends it. */
export function throttlingError(service: Service, route53Code: 'Throttling' | 'PriorRequestNotComplete' = 'Throttling'): Answer {
  const id = randomUUID();
  if (service === 'ssm') return json(400, 'ThrottlingException', 'Rate exceeded', id);
  if (service === 'route53') {
    const message = route53Code === 'Throttling' ? 'Rate exceeded' : 'The request was rejected because Route 53 was still processing a prior request.';
    return route53Xml(400, 'Sender', route53Code, message, id);
  }
  return ec2Xml(503, 'RequestLimitExceeded', 'Request limit exceeded.', id);
}

/** The service's answer to a request IAM refuses (HTTP 403). */
export function accessDenied(service: Service): Answer {
  const id = randomUUID();
  const message = 'User: arn:aws:sts::123456789012:assumed-role/ec2ip-hub/ec2ip-hub is not authorized to perform this operation';
  if (service === 'ssm') return json(403, 'AccessDeniedException', message, id);
  if (service === 'ec2') return ec2Xml(403, 'UnauthorizedOperation', message, id);
  return route53Xml(403, 'Sender', 'AccessDenied', message, id);
}

/** The service's internal error (HTTP 500). */
export function internalError(service: Service): Answer {
  const id = randomUUID();
  if (service === 'ssm') return json(500, 'InternalServerError', 'An error occurred on the server side.', id);
  if (service === 'route53') return route53Xml(500, 'Receiver', 'InternalFailure', 'An internal error occurred.', id);
  return ec2Xml(500, 'InternalError', 'An internal error has occurred.', id);
}

function json(status: number, type: string, message: string, id: string): Answer {
  return { status, headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': id }, body: JSON.stringify({ __type: type, message }) };
}

function route53Xml(status: number, type: string, code: string, message: string, id: string): Answer {
  return {
    status,
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': id },
    body: `<?xml version="1.0"?>\n<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Error><Type>${type}</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${id}</RequestId></ErrorResponse>`,
  };
}

function ec2Xml(status: number, code: string, message: string, id: string): Answer {
  return {
    status,
    headers: { 'content-type': 'text/xml;charset=UTF-8' },
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>${id}</RequestID></Response>`,
  };
}

/** A small seeded PRNG (mulberry32): deterministic fault decisions for a given seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The number of sequential rounds in a set of requests: the longest chain in which each
 * request started after the previous one had been answered. Requests that overlap in time
 * count as one round. Unfinished requests are ignored.
 */
export function sequentialRounds(requests: readonly Pick<ProxyRequest, 'start' | 'end'>[]): number {
  const done = requests.filter((r): r is { start: number; end: number } => r.end !== undefined).sort((a, b) => a.start - b.start);
  const depth: number[] = [];
  let best = 0;
  for (let i = 0; i < done.length; i++) {
    let d = 1;
    for (let j = 0; j < i; j++) if ((done[j] as { end: number }).end <= (done[i] as { start: number }).start) d = Math.max(d, (depth[j] as number) + 1);
    depth.push(d);
    best = Math.max(best, d);
  }
  return best;
}

/** Calls per `service:action` in a log. */
export function countCalls(requests: readonly Pick<ProxyRequest, 'service' | 'action'>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of requests) out[`${r.service}:${r.action}`] = (out[`${r.service}:${r.action}`] ?? 0) + 1;
  return out;
}
