/** What ec2ip has published under the parameter prefix, one entry per name, for `list` and `ssh-config`. */
import type { EC2Client } from '@aws-sdk/client-ec2';
import { GetParametersByPathCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { describeInstances } from '../../functions/adapters/ec2.js';
import { checkName, splitParameter } from '../../functions/core/names.js';
import type { InstanceState } from '../../functions/core/types.js';
import { explainAwsError, isAccessDenied } from './aws-errors.js';

/** One published name: its parameter leaves and when the newest of them was written. */
export interface Published {
  name: string;
  instanceId?: string;
  publicIp?: string;
  privateIp?: string;
  ipv6?: string;
  lastModified?: Date;
}

/** Every name under `prefix` (GetParametersByPath, all pages), sorted by name. Names ec2ip would refuse are left out. */
export async function readPublished(ssm: SSMClient, prefix: string): Promise<Published[]> {
  const byName = new Map<string, Published>();
  let token: string | undefined;
  try {
    do {
      const page = await ssm.send(new GetParametersByPathCommand({ Path: prefix, Recursive: true, MaxResults: 10, NextToken: token }));
      for (const p of page.Parameters ?? []) {
        const split = p.Name ? splitParameter(prefix, p.Name) : undefined;
        if (!split || p.Value === undefined || !checkName(split.name, []).ok) continue;
        const entry = byName.get(split.name) ?? { name: split.name };
        if (split.leaf === 'instance-id') entry.instanceId = p.Value;
        else if (split.leaf === 'public-ip') entry.publicIp = p.Value;
        else if (split.leaf === 'private-ip') entry.privateIp = p.Value;
        else if (split.leaf === 'ipv6') entry.ipv6 = p.Value;
        if (p.LastModifiedDate && (!entry.lastModified || p.LastModifiedDate > entry.lastModified)) entry.lastModified = p.LastModifiedDate;
        byName.set(split.name, entry);
      }
      token = page.NextToken;
    } while (token);
  } catch (error) {
    throw explainAwsError(error, `reading the parameters under ${prefix}`);
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The state of each instance (DescribeInstances with an instance-id filter, so a vanished
 * id does not fail the call); `gone` when EC2 no longer knows it; undefined when the
 * credentials may not describe instances.
 */
export async function readStates(ec2: EC2Client, ids: readonly string[]): Promise<Map<string, InstanceState | 'gone'> | undefined> {
  if (ids.length === 0) return new Map();
  try {
    const found = new Map<string, InstanceState | 'gone'>((await describeInstances(ec2, ids)).map((i) => [i.id, i.state]));
    for (const id of ids) if (!found.has(id)) found.set(id, 'gone');
    return found;
  } catch (error) {
    if (isAccessDenied(error)) return undefined;
    throw explainAwsError(error, 'describing the instances');
  }
}
