/**
 * One read-only call of an AWS Query-protocol API (CloudFormation, IAM) as a SigV4-signed
 * POST, for the rare calls whose SDK client would cost the Lambda bundle more than the call
 * is worth (docs/performance.md, "Cold start"). Signing uses the SDK's own SigV4 signer.
 */
import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, Provider } from '@smithy/types';

/** Where and as whom to call. */
export interface QueryTarget {
  /** The signing region (IAM, a global service, signs in its partition's home region). */
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

/** The service's endpoint: the SDK's standard environment (`AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL`), else AWS's. */
function endpointOf(service: string, target: QueryTarget): URL {
  const given = target.env[`AWS_ENDPOINT_URL_${service.toUpperCase()}`] ?? target.env.AWS_ENDPOINT_URL;
  if (given) return new URL(given);
  const china = target.region.startsWith('cn-');
  if (service === 'iam') return new URL(china ? 'https://iam.cn-north-1.amazonaws.com.cn/' : target.region.startsWith('us-gov-') ? 'https://iam.us-gov.amazonaws.com/' : 'https://iam.amazonaws.com/');
  return new URL(`https://${service}.${target.region}.${china ? 'amazonaws.com.cn' : 'amazonaws.com'}/`);
}

/** Posts the form, signed; the answer's XML whatever the status (the caller reads the error from it). */
export async function queryApi(target: QueryTarget & { service: string }, form: Record<string, string>): Promise<{ ok: boolean; status: number; xml: string }> {
  const url = endpointOf(target.service, target);
  const credentials = typeof target.credentials === 'function' ? target.credentials : async () => target.credentials as AwsCredentialIdentity;
  const signer = new SignatureV4({ service: target.service, region: target.region, credentials, sha256: Sha256 });
  const body = new URLSearchParams(form).toString();
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
  return { ok: answer.ok, status: answer.status, xml: await answer.text() };
}

function decode(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

/** The text of the first `<name>` element, decoded; undefined when there is none. */
export function field(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  return m?.[1] === undefined ? undefined : decode(m[1]);
}
