/** One instance, by its ec2ip name: what is published for it, its state in EC2, and starting/stopping it. */
import { StartInstancesCommand, StopInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { GetParametersCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { describeInstances } from '../../functions/adapters/ec2.js';
import type { Instance } from '../../functions/core/types.js';
import { explainAwsError } from './aws-errors.js';
import type { Stamped } from './connect-plan.js';
import { CliError, EXIT } from './errors.js';

/** The parameters of one name. */
export interface PublishedEntry {
  instanceId?: string | undefined;
  publicIp?: Stamped | undefined;
  privateIp?: Stamped | undefined;
}

/** `<prefix>/<name>/{instance-id,public-ip,private-ip}` in one GetParameters call; a missing one is undefined. */
export async function readEntry(ssm: SSMClient, prefix: string, name: string): Promise<PublishedEntry> {
  const folder = `${prefix}/${name}`;
  try {
    const answer = await ssm.send(new GetParametersCommand({ Names: [`${folder}/instance-id`, `${folder}/public-ip`, `${folder}/private-ip`] }));
    const entry: PublishedEntry = {};
    for (const p of answer.Parameters ?? []) {
      if (p.Value === undefined) continue;
      const stamped = { value: p.Value, modified: p.LastModifiedDate ?? new Date(0) };
      if (p.Name === `${folder}/instance-id`) entry.instanceId = p.Value;
      else if (p.Name === `${folder}/public-ip`) entry.publicIp = stamped;
      else if (p.Name === `${folder}/private-ip`) entry.privateIp = stamped;
    }
    return entry;
  } catch (error) {
    throw explainAwsError(error, `reading the parameters under ${folder}`);
  }
}

/** The instance as EC2 describes it now, or 'gone'. */
export async function describeOne(ec2: EC2Client, instanceId: string): Promise<Instance | 'gone'> {
  try {
    return (await describeInstances(ec2, [instanceId]))[0] ?? 'gone';
  } catch (error) {
    throw explainAwsError(error, `describing ${instanceId}`);
  }
}

const TAG_HINT = 'the user policy allows ec2:StartInstances/ec2:StopInstances only on instances tagged ec2ip:name (see docs/connecting.md)';

/** StartInstances for one instance; an instance that changed state meanwhile is not an error (the caller looks again). */
export async function startInstance(ec2: EC2Client, instanceId: string): Promise<void> {
  await change(ec2, instanceId, 'start');
}

export async function stopInstance(ec2: EC2Client, instanceId: string): Promise<void> {
  await change(ec2, instanceId, 'stop');
}

async function change(ec2: EC2Client, instanceId: string, what: 'start' | 'stop'): Promise<void> {
  try {
    await ec2.send(what === 'start' ? new StartInstancesCommand({ InstanceIds: [instanceId] }) : new StopInstancesCommand({ InstanceIds: [instanceId] }));
  } catch (error) {
    if ((error as { name?: string }).name === 'IncorrectInstanceState') return;
    const explained = explainAwsError(error, `${what === 'start' ? 'starting' : 'stopping'} ${instanceId}`);
    if (/access denied/.test(explained.message)) throw new CliError(`${explained.message}; ${TAG_HINT}`, EXIT.failed, { cause: error });
    throw explained;
  }
}
