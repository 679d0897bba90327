/**
 * A hub's spokes found from the stack instances of the spoke StackSet (ListStackInstances).
 *
 * This one call is made without the SDK's CloudFormation client: that client adds 111 KB to
 * the Lambda bundle (the bundle's budget is 400 KB, see README "Cold start"), for a single
 * read-only Query-protocol call that a SigV4-signed POST does as well. Signing uses the SDK's
 * own SigV4 signer and the hub's credentials provider; the CLI, whose bundle has no budget,
 * uses the same function.
 */
import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, Provider } from '@smithy/types';
import { StackSetQueryError } from '../core/errors.js';
import type { Spoke } from '../core/types.js';

/** Where and as whom to call CloudFormation. */
export interface QueryTarget {
  region: string;
  credentials: Provider<AwsCredentialIdentity> | AwsCredentialIdentity;
  env: Record<string, string | undefined>;
  timeoutMs?: number;
}

class Sha256 {
  private readonly hash;
  constructor(secret?: unknown) {
    this.hash = secret ? createHmac('sha256', Buffer.from(secret as Uint8Array)) : createHash('sha256');
  }
  update(data: Uint8Array | string): void {
    this.hash.update(typeof data === 'string' ? Buffer.from(data) : data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

/** The CloudFormation endpoint: the SDK's standard environment, else the region's. */
function endpointOf(target: QueryTarget): URL {
  const given = target.env.AWS_ENDPOINT_URL_CLOUDFORMATION ?? target.env.AWS_ENDPOINT_URL;
  if (given) return new URL(given);
  const suffix = target.region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return new URL(`https://cloudformation.${target.region}.${suffix}/`);
}

function decode(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

function field(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  return m?.[1] === undefined ? undefined : decode(m[1]);
}

/**
 * Every (account, region) the StackSet has a stack instance in, in the order listed.
 * `callAs: 'DELEGATED_ADMIN'` when the hub's account is a delegated administrator of a
 * service-managed StackSet.
 */
export async function discoverSpokes(target: QueryTarget, stackSetName: string, callAs?: 'SELF' | 'DELEGATED_ADMIN'): Promise<Spoke[]> {
  const url = endpointOf(target);
  const credentials = typeof target.credentials === 'function' ? target.credentials : async () => target.credentials as AwsCredentialIdentity;
  const signer = new SignatureV4({ service: 'cloudformation', region: target.region, credentials, sha256: Sha256 });
  const spokes: Spoke[] = [];
  let token: string | undefined;
  do {
    const form = new URLSearchParams({ Action: 'ListStackInstances', Version: '2010-05-15', StackSetName: stackSetName });
    if (token) form.set('NextToken', token);
    if (callAs) form.set('CallAs', callAs);
    const body = form.toString();
    const signed = await signer.sign({
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname || '/',
      query: {},
      headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body,
    });
    const answer = await fetch(url, { method: 'POST', headers: signed.headers, body, signal: AbortSignal.timeout(target.timeoutMs ?? 5000) });
    const xml = await answer.text();
    if (!answer.ok) {
      const code = field(xml, 'Code') ?? `HTTP ${answer.status}`;
      throw new StackSetQueryError(`ListStackInstances of StackSet ${stackSetName} failed: ${code}: ${field(xml, 'Message') ?? xml.slice(0, 200)}`, code);
    }
    for (const member of xml.matchAll(/<member>([\s\S]*?)<\/member>/g)) {
      const account = field(member[1] ?? '', 'Account');
      const region = field(member[1] ?? '', 'Region');
      if (account && region && !spokes.some((s) => s.account === account && s.region === region)) spokes.push({ account, region });
    }
    token = field(xml, 'NextToken') || undefined;
  } while (token);
  return spokes;
}
