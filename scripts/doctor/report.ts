/**
 * What `ec2ip doctor` found: one Check per line, the text and `--json` renderings, and the
 * exit code. The JSON schema is DOCTOR_JSON_SCHEMA (test/unit/doctor-report.test.ts holds it).
 */

/** `ok`: as it should be; `warn`: works but needs attention, or could not be checked; `fail`: broken. */
export type Status = 'ok' | 'warn' | 'fail';

/** The part of the path from an EC2 event to a resolvable name a check belongs to. */
export type Section = 'stack' | 'events' | 'function' | 'zones' | 'instances' | 'hub' | 'redrive';

export interface Check {
  section: Section;
  /** Stable id of the check, e.g. `rule-enabled`: scripts match on it. */
  id: string;
  status: Status;
  /** The resource checked, by the name the console and the CLI show (rule name, queue URL, zone id). */
  resource: string;
  message: string;
  /** For anything not ok: the command or console step that fixes it. */
  fix?: string;
  /** Set when the check could not run for lack of permission: the IAM action that was refused. */
  missingPermission?: string;
}

export interface Report {
  schemaVersion: 1;
  stack: string;
  region: string;
  checks: Check[];
  summary: Record<Status, number>;
  /** 0 when nothing failed, 1 otherwise (the process exit code). */
  exitCode: 0 | 1;
}

/** The JSON Schema (draft 2020-12) of `ec2ip doctor --json`. */
export const DOCTOR_JSON_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'ec2ip doctor --json',
  type: 'object',
  required: ['schemaVersion', 'stack', 'region', 'checks', 'summary', 'exitCode'],
  additionalProperties: false,
  properties: {
    schemaVersion: { const: 1 },
    stack: { type: 'string' },
    region: { type: 'string' },
    checks: {
      type: 'array',
      items: {
        type: 'object',
        required: ['section', 'id', 'status', 'resource', 'message'],
        additionalProperties: false,
        properties: {
          section: { enum: ['stack', 'events', 'function', 'zones', 'instances', 'hub', 'redrive'] },
          id: { type: 'string', pattern: '^[a-z0-9-]+$' },
          status: { enum: ['ok', 'warn', 'fail'] },
          resource: { type: 'string' },
          message: { type: 'string' },
          fix: { type: 'string' },
          missingPermission: { type: 'string', pattern: '^[a-z0-9-]+:[A-Za-z*]+$' },
        },
      },
    },
    summary: {
      type: 'object',
      required: ['ok', 'warn', 'fail'],
      additionalProperties: false,
      properties: { ok: { type: 'integer', minimum: 0 }, warn: { type: 'integer', minimum: 0 }, fail: { type: 'integer', minimum: 0 } },
    },
    exitCode: { enum: [0, 1] },
  },
} as const;

/** The report of `checks`, with its summary and exit code. */
export function report(stack: string, region: string, checks: Check[]): Report {
  const summary: Record<Status, number> = { ok: 0, warn: 0, fail: 0 };
  for (const c of checks) summary[c.status]++;
  return { schemaVersion: 1, stack, region, checks, summary, exitCode: summary.fail > 0 ? 1 : 0 };
}

const LABEL: Record<Status, string> = { ok: 'ok', warn: 'warn', fail: 'FAIL' };

/** One line per check (`ok`/`warn`/`FAIL`, section, resource, what was found), the fix indented below it. */
export function formatCheck(c: Check): string {
  const line = `${LABEL[c.status].padEnd(4)}  ${c.section.padEnd(9)} ${c.resource}: ${c.message}`;
  return c.fix && c.status !== 'ok' ? `${line}\n                fix: ${c.fix}\n` : `${line}\n`;
}

/** The summary line: the counts and a verdict. */
export function formatSummary(r: Report): string {
  const { ok, warn, fail } = r.summary;
  const verdict = fail > 0 ? 'something is broken: fix the FAIL lines first' : warn > 0 ? 'working, with warnings' : 'all good';
  return `${ok} ok, ${warn} warn, ${fail} FAIL: ${verdict}.\n`;
}

/** The whole report as text: one line per check, then the summary. */
export function formatReport(r: Report): string {
  return `${r.checks.map(formatCheck).join('')}\n${formatSummary(r)}`;
}
