/**
 * A hub's spokes found from the stack instances of the spoke StackSet (ListStackInstances).
 * The call is a signed Query-protocol POST (see aws-query.ts), not the CloudFormation client,
 * which would add 111 KB to the Lambda bundle; the CLI uses the same function.
 */
import { StackSetQueryError } from '../core/errors.js';
import type { Spoke } from '../core/types.js';
import { field, queryApi, type QueryTarget } from './aws-query.js';

export type { QueryTarget } from './aws-query.js';

/**
 * Every (account, region) the StackSet has a stack instance in, in the order listed.
 * `callAs: 'DELEGATED_ADMIN'` when the hub's account is a delegated administrator of a
 * service-managed StackSet.
 */
export async function discoverSpokes(target: QueryTarget, stackSetName: string, callAs?: 'SELF' | 'DELEGATED_ADMIN'): Promise<Spoke[]> {
  const spokes: Spoke[] = [];
  let token: string | undefined;
  do {
    const form: Record<string, string> = { Action: 'ListStackInstances', Version: '2010-05-15', StackSetName: stackSetName };
    if (token) form.NextToken = token;
    if (callAs) form.CallAs = callAs;
    const answer = await queryApi({ ...target, service: 'cloudformation' }, form);
    const xml = answer.xml;
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
