import { DescribeInstancesCommand, GetConsoleOutputCommand, type EC2Client, type Filter, type Instance as Ec2Instance } from '@aws-sdk/client-ec2';
import { ipv4, ipv6 } from '../core/names.js';
import { INSTANCE_STATES, type Instance, type InstanceState } from '../core/types.js';

export const NAME_TAG = 'ec2ip:name';
export const EIP_TAG = 'ec2ip:eip';

/** Most values one DescribeInstances filter takes. */
const FILTER_VALUES = 200;

/**
 * The instances with these ids that still exist, in one call per 200 ids. A filter, not
 * `InstanceIds`, so one vanished id does not fail the whole call.
 */
export async function describeInstances(ec2: EC2Client, ids: readonly string[]): Promise<Instance[]> {
  const unique = [...new Set(ids)];
  const chunks: string[][] = [];
  for (let i = 0; i < unique.length; i += FILTER_VALUES) chunks.push(unique.slice(i, i + FILTER_VALUES));
  const pages = await Promise.all(chunks.map((values) => describeAll(ec2, [{ Name: 'instance-id', Values: values }])));
  return pages.flat();
}

/** Every instance carrying the `ec2ip:name` tag, in any state (the reconcile's view). */
export async function describeTagged(ec2: EC2Client): Promise<Instance[]> {
  return describeAll(ec2, [{ Name: 'tag-key', Values: [NAME_TAG] }], 1000);
}

async function describeAll(ec2: EC2Client, filters: Filter[], maxResults?: number): Promise<Instance[]> {
  const out: Instance[] = [];
  let token: string | undefined;
  do {
    const page = await ec2.send(new DescribeInstancesCommand({ Filters: filters, NextToken: token, ...(maxResults ? { MaxResults: maxResults } : {}) }));
    for (const reservation of page.Reservations ?? []) {
      for (const raw of reservation.Instances ?? []) {
        const instance = toInstance(raw);
        if (instance) out.push(instance);
      }
    }
    token = page.NextToken;
  } while (token);
  return out;
}

/** Maps DescribeInstances output to ec2ip's view, validating addresses rather than trusting them. */
export function toInstance(raw: Ec2Instance): Instance | undefined {
  const state = raw.State?.Name as InstanceState | undefined;
  if (!raw.InstanceId || !state || !INSTANCE_STATES.includes(state)) return undefined;
  const tag = (key: string) => raw.Tags?.find((t) => t.Key === key)?.Value ?? undefined;
  const primary = raw.NetworkInterfaces?.find((n) => n.Attachment?.DeviceIndex === 0);
  const v6 = (primary?.Ipv6Addresses ?? []).map((a) => ipv6(a.Ipv6Address)).filter((a): a is string => a !== undefined);
  const instance: Instance = { id: raw.InstanceId, state, ipv6: [...new Set(v6)] };
  const enis = [...(raw.NetworkInterfaces ?? [])].sort((a, b) => (a.Attachment?.DeviceIndex ?? 99) - (b.Attachment?.DeviceIndex ?? 99)).map((n) => n.NetworkInterfaceId).filter((n): n is string => !!n);
  if (enis.length > 1) instance.networkInterfaceIds = enis;
  const name = tag(NAME_TAG);
  if (name !== undefined) instance.nameTag = name;
  const eip = tag(EIP_TAG);
  if (eip !== undefined) instance.eipTag = eip;
  const attached = primary?.Attachment?.AttachTime ? new Date(primary.Attachment.AttachTime) : undefined;
  if (attached && !Number.isNaN(attached.getTime())) instance.firstBootTime = attached.toISOString();
  const launched = raw.LaunchTime ? new Date(raw.LaunchTime) : undefined;
  if (launched && !Number.isNaN(launched.getTime())) instance.launchTime = launched.toISOString();
  const publicIp = ipv4(raw.PublicIpAddress);
  if (publicIp) instance.publicIp = publicIp;
  const privateIp = ipv4(raw.PrivateIpAddress);
  if (privateIp) instance.privateIp = privateIp;
  return instance;
}

/**
 * An instance's console output, decoded (GetConsoleOutput gives the most recent 64 KB,
 * base64). `Latest` asks for the current boot's output, which only Nitro instances give;
 * others answer with an error, and then the buffered output is what there is.
 */
export async function consoleOutput(ec2: EC2Client, instanceId: string): Promise<string | undefined> {
  let answer;
  try {
    answer = await ec2.send(new GetConsoleOutputCommand({ InstanceId: instanceId, Latest: true }));
  } catch (error) {
    const name = (error as { name?: string }).name ?? '';
    if (!['UnsupportedOperation', 'InvalidParameterCombination', 'InvalidParameterValue', 'InvalidParameter'].includes(name)) throw error;
    answer = await ec2.send(new GetConsoleOutputCommand({ InstanceId: instanceId }));
  }
  return answer.Output ? Buffer.from(answer.Output, 'base64').toString('utf8') : undefined;
}
