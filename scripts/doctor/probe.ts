/** Running one check so that a refused permission or a failed call becomes a line, never an abort. */
import { isAccessDenied } from '../cli/aws-errors.js';
import type { Check, Section } from './report.js';

/** Where a check's lines go; checks push as they learn. */
export type Sink = (check: Check) => void;

/**
 * Runs `body`; an access-denied error becomes a `warn` naming the refused IAM action (from
 * AWS's message, else `action`, the one the check needs first), any other error a `warn` saying the check could not run and why. The other
 * checks go on either way.
 */
export async function probe(sink: Sink, where: { section: Section; id: string; resource: string; action: string }, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    const { section, id, resource } = where;
    if (isAccessDenied(error)) {
      // AWS names the refused action ("… is not authorized to perform: route53:ListResourceRecordSets …").
      const action = /perform: ([a-z0-9-]+:[A-Za-z]+)/.exec((error as { message?: string }).message ?? '')?.[1] ?? where.action;
      sink({
        section,
        id,
        status: 'warn',
        resource,
        message: `not checked: access denied (your credentials lack ${action})`,
        fix: `allow ${action} to the user or role that runs ec2ip doctor (README "IAM for the CLI")`,
        missingPermission: action,
      });
      return;
    }
    const e = error as { name?: string; message?: string };
    sink({ section, id, status: 'warn', resource, message: `not checked: ${e?.name ? `${e.name}: ` : ''}${e?.message ?? String(error)}` });
  }
}
