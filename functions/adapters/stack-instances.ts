/** A hub's spokes found from the stack instances of the spoke StackSet. */
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { Spoke } from '../core/types.js';

/**
 * Every (account, region) the StackSet has a stack instance in, in the order listed. The
 * CloudFormation client is loaded only when a hub discovers its spokes, so single-account
 * mode never loads it.
 */
export async function discoverSpokes(cfn: CloudFormationClient, stackSetName: string, callAs?: 'SELF' | 'DELEGATED_ADMIN'): Promise<Spoke[]> {
  const { ListStackInstancesCommand } = await import('@aws-sdk/client-cloudformation');
  const spokes: Spoke[] = [];
  let token: string | undefined;
  do {
    const page = await cfn.send(new ListStackInstancesCommand({ StackSetName: stackSetName, NextToken: token, ...(callAs ? { CallAs: callAs } : {}) }));
    for (const s of page.Summaries ?? []) {
      if (s.Account && s.Region && !spokes.some((x) => x.account === s.Account && x.region === s.Region)) spokes.push({ account: s.Account, region: s.Region });
    }
    token = page.NextToken;
  } while (token);
  return spokes;
}
