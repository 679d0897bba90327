/**
 * `ec2ip doctor`'s result model and output: the `--json` schema is held here (a report is
 * validated against DOCTOR_JSON_SCHEMA, and the schema's shape is pinned), the text lines,
 * the exit code, the permission-denied line, and the pure helpers of the checks.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { admits, describeDeadLetter, ruleArnOf } from '../../scripts/doctor/events.js';
import { scheduleIntervalMs } from '../../scripts/doctor/function.js';
import { busAdmits, parseSpokes } from '../../scripts/doctor/hub.js';
import { probe } from '../../scripts/doctor/probe.js';
import { DOCTOR_JSON_SCHEMA, formatCheck, formatReport, report, type Check } from '../../scripts/doctor/report.js';
import { compareVersions, templateVersion } from '../../scripts/doctor/stack.js';

type Schema = Record<string, unknown>;

/** The subset of JSON Schema the doctor schema uses: type, const, enum, pattern, minimum, required, properties, additionalProperties, items. */
function validate(schema: Schema, value: unknown, path = '$'): string[] {
  const errors: string[] = [];
  if ('const' in schema && value !== schema.const) errors.push(`${path}: not ${JSON.stringify(schema.const)}`);
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) errors.push(`${path}: ${JSON.stringify(value)} not in enum`);
  const type = schema.type as string | undefined;
  if (type === 'string' && typeof value !== 'string') errors.push(`${path}: not a string`);
  if (type === 'integer' && !Number.isInteger(value)) errors.push(`${path}: not an integer`);
  if (typeof schema.minimum === 'number' && typeof value === 'number' && value < schema.minimum) errors.push(`${path}: below minimum`);
  if (typeof schema.pattern === 'string' && typeof value === 'string' && !new RegExp(schema.pattern).test(value)) errors.push(`${path}: does not match ${schema.pattern}`);
  if (type === 'array') {
    if (!Array.isArray(value)) errors.push(`${path}: not an array`);
    else value.forEach((v, i) => errors.push(...validate(schema.items as Schema, v, `${path}[${i}]`)));
  }
  if (type === 'object') {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return [...errors, `${path}: not an object`];
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    for (const key of (schema.required ?? []) as string[]) if (!(key in value)) errors.push(`${path}: missing ${key}`);
    for (const [key, v] of Object.entries(value)) {
      if (props[key]) errors.push(...validate(props[key], v, `${path}.${key}`));
      else if (schema.additionalProperties === false) errors.push(`${path}: unexpected ${key}`);
    }
  }
  return errors;
}

const ok: Check = { section: 'stack', id: 'stack-status', status: 'ok', resource: 'ec2ip', message: 'CREATE_COMPLETE' };
const fail: Check = { section: 'events', id: 'rule-enabled', status: 'fail', resource: 'ec2ip-StateChangeRule-1', message: 'state-change rule is DISABLED', fix: 'aws events enable-rule --name ec2ip-StateChangeRule-1' };
const denied: Check = { section: 'function', id: 'function-metrics', status: 'warn', resource: 'ec2ip', message: 'not checked', missingPermission: 'cloudwatch:GetMetricData' };

describe('the doctor report', () => {
  it('validates against the documented schema, and the schema rejects what it must', () => {
    const r = report('ec2ip', 'us-east-1', [ok, fail, denied]);
    expect(validate(DOCTOR_JSON_SCHEMA, JSON.parse(JSON.stringify(r)))).toEqual([]);
    expect(validate(DOCTOR_JSON_SCHEMA, { ...r, extra: 1 })).toEqual(['$: unexpected extra']);
    expect(validate(DOCTOR_JSON_SCHEMA, { ...r, checks: [{ ...ok, status: 'OK' }] })).toEqual(['$.checks[0].status: "OK" not in enum']);
    expect(validate(DOCTOR_JSON_SCHEMA, { ...r, checks: [{ ...ok, missingPermission: 'GetMetricData' }] })).toHaveLength(1);
  });

  it('pins the schema: top-level keys, check keys, statuses and sections', () => {
    expect(DOCTOR_JSON_SCHEMA.required).toEqual(['schemaVersion', 'stack', 'region', 'checks', 'summary', 'exitCode']);
    expect(Object.keys(DOCTOR_JSON_SCHEMA.properties.checks.items.properties)).toEqual(['section', 'id', 'status', 'resource', 'message', 'fix', 'missingPermission']);
    expect(DOCTOR_JSON_SCHEMA.properties.checks.items.required).toEqual(['section', 'id', 'status', 'resource', 'message']);
    expect(DOCTOR_JSON_SCHEMA.properties.checks.items.properties.status.enum).toEqual(['ok', 'warn', 'fail']);
    expect(DOCTOR_JSON_SCHEMA.properties.checks.items.properties.section.enum).toEqual(['stack', 'events', 'function', 'zones', 'instances', 'hub', 'redrive']);
  });

  it('counts the statuses; exit 1 only when something failed', () => {
    expect(report('s', 'r', [ok, fail, denied])).toMatchObject({ summary: { ok: 1, warn: 1, fail: 1 }, exitCode: 1 });
    expect(report('s', 'r', [ok, denied])).toMatchObject({ summary: { ok: 1, warn: 1, fail: 0 }, exitCode: 0 });
    expect(report('s', 'r', [])).toMatchObject({ summary: { ok: 0, warn: 0, fail: 0 }, exitCode: 0 });
  });

  it('prints one line per check, the fix under anything not ok, and a summary', () => {
    expect(formatCheck(ok)).toBe('ok    stack     ec2ip: CREATE_COMPLETE\n');
    expect(formatCheck(fail)).toBe('FAIL  events    ec2ip-StateChangeRule-1: state-change rule is DISABLED\n                fix: aws events enable-rule --name ec2ip-StateChangeRule-1\n');
    expect(formatReport(report('s', 'r', [ok, fail]))).toMatch(/\n1 ok, 0 warn, 1 FAIL: something is broken: fix the FAIL lines first\.\n$/);
    expect(formatReport(report('s', 'r', [ok]))).toMatch(/\n1 ok, 0 warn, 0 FAIL: all good\.\n$/);
  });
});

describe('probe', () => {
  it('turns an access-denied error into a warn naming the missing action, and goes on', async () => {
    const lines: Check[] = [];
    const error = Object.assign(new Error('User: arn:aws:iam::1:user/x is not authorized to perform: events:DescribeRule'), { name: 'AccessDeniedException' });
    await probe((c) => lines.push(c), { section: 'events', id: 'rule-enabled', resource: 'r', action: 'events:DescribeRule' }, () => Promise.reject(error));
    await probe((c) => lines.push(c), { section: 'events', id: 'rule-target', resource: 'r', action: 'events:ListTargetsByRule' }, () => Promise.reject(new Error('boom')));
    expect(lines).toEqual([
      expect.objectContaining({ status: 'warn', id: 'rule-enabled', missingPermission: 'events:DescribeRule', message: 'not checked: access denied (your credentials lack events:DescribeRule)' }),
      expect.objectContaining({ status: 'warn', id: 'rule-target', message: 'not checked: Error: boom' }),
    ]);
    expect(lines[1]).not.toHaveProperty('missingPermission');
    const route53 = Object.assign(new Error('User: arn:aws:iam::1:user/x is not authorized to perform: route53:ListResourceRecordSets on resource: hostedzone/Z1'), { name: 'AccessDenied' });
    await probe((c) => lines.push(c), { section: 'instances', id: 'plan', resource: 'ec2ip plan', action: 'ec2:DescribeInstances' }, () => Promise.reject(route53));
    expect(lines[2]).toMatchObject({ missingPermission: 'route53:ListResourceRecordSets' });
  });
});

describe('check helpers', () => {
  const queue = 'arn:aws:sqs:us-east-1:123456789012:ec2ip-EventQueue-1';
  const rule = ruleArnOf(queue, 'ec2ip-StateChangeRule-1');
  const statement = { Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sqs:SendMessage', Resource: queue, Condition: { ArnEquals: { 'aws:SourceArn': [rule] } } };

  it('builds a rule ARN from the queue ARN, on the default and on a custom bus', () => {
    expect(rule).toBe('arn:aws:events:us-east-1:123456789012:rule/ec2ip-StateChangeRule-1');
    expect(ruleArnOf(queue, 'hub-bus|ec2ip-StateChangeRule-1')).toBe('arn:aws:events:us-east-1:123456789012:rule/hub-bus/ec2ip-StateChangeRule-1');
  });

  it('decides whether a queue policy statement admits a rule', () => {
    expect(admits(statement, queue, rule)).toBe(true);
    expect(admits({ ...statement, Effect: 'Deny' }, queue, rule)).toBe(false);
    expect(admits({ ...statement, Principal: { Service: 'sns.amazonaws.com' } }, queue, rule)).toBe(false);
    expect(admits({ ...statement, Action: 'sqs:ReceiveMessage' }, queue, rule)).toBe(false);
    expect(admits({ ...statement, Resource: `${queue}-other` }, queue, rule)).toBe(false);
    expect(admits({ ...statement, Condition: { ArnEquals: { 'aws:SourceArn': 'arn:aws:events:us-east-1:123456789012:rule/other' } } }, queue, rule)).toBe(false);
    expect(admits({ ...statement, Condition: { ArnLike: { 'aws:SourceArn': 'arn:aws:events:us-east-1:123456789012:rule/ec2ip-*' } } }, queue, rule)).toBe(true);
  });

  it('names the instance of a dead-letter message', () => {
    expect(describeDeadLetter(JSON.stringify({ detail: { 'instance-id': 'i-0abc', state: 'running' } }))).toBe('i-0abc');
    expect(describeDeadLetter(JSON.stringify({ resources: ['arn:aws:ec2:us-east-1:1:instance/i-0def'], detail: {} }))).toBe('i-0def');
    expect(describeDeadLetter('{"detail":{}}')).toBe('no instance id (a malformed event)');
    expect(describeDeadLetter('nope')).toBe('not JSON (a malformed event)');
  });

  it('decides whether the hub bus admits a spoke account, by account or by organization', () => {
    const policy = (statement: object) => JSON.stringify({ Statement: [statement] });
    const base = { Effect: 'Allow', Action: 'events:PutEvents', Resource: 'arn:aws:events:us-east-1:1:event-bus/b' };
    expect(busAdmits(policy({ ...base, Principal: { AWS: ['111111111111', '222222222222'] } }), '222222222222')).toBe('account');
    expect(busAdmits(policy({ ...base, Principal: { AWS: 'arn:aws:iam::111111111111:root' } }), '111111111111')).toBe('account');
    expect(busAdmits(policy({ ...base, Principal: '*', Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-abc' } } }), '333333333333')).toBe('organization');
    expect(busAdmits(policy({ ...base, Principal: '*' }), '333333333333')).toBeUndefined();
    expect(busAdmits(policy({ ...base, Effect: 'Deny', Principal: { AWS: '111111111111' } }), '111111111111')).toBeUndefined();
    expect(busAdmits(undefined, '111111111111')).toBeUndefined();
    expect(parseSpokes(' 111111111111:us-east-1, 222222222222/eu-west-1 ,')).toEqual(['111111111111:us-east-1', '222222222222:eu-west-1']);
  });

  it('reads the schedule interval, and orders versions', () => {
    expect(scheduleIntervalMs('rate(15 minutes)')).toBe(900_000);
    expect(scheduleIntervalMs('rate(1 hour)')).toBe(3_600_000);
    expect(scheduleIntervalMs('cron(0 * * * ? *)')).toBe(86_400_000);
    expect(compareVersions('0.1.0', '0.1.0')).toBe(0);
    expect(compareVersions('0.0.9', '0.1.0')).toBe(-1);
    expect(compareVersions('0.10.0', '0.9.1')).toBe(1);
    expect(compareVersions('1.0.0-rc.1', '1.0.0')).toBe(-1);
  });
});

describe('the template version stamp', () => {
  const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  it.each(['template.yaml', 'hub.yaml'])('infra/%s carries the package version as Metadata Ec2ipTemplateVersion', (file) => {
    const text = readFileSync(new URL(`../../infra/${file}`, import.meta.url), 'utf8');
    expect(text).toMatch(/\nMetadata:\n(?: {2}#.*\n)* {2}Ec2ipTemplateVersion: "[^"]+"\n/);
    expect(templateVersion(text)).toBe(version);
  });

  it('reads the stamp from a YAML or JSON template, and none from a template without it', () => {
    expect(templateVersion('Metadata:\n  Ec2ipTemplateVersion: "1.2.3"\nResources: {}\n')).toBe('1.2.3');
    expect(templateVersion('{\n  "Metadata": {\n    "Ec2ipTemplateVersion": "0.9.0"\n  }\n}')).toBe('0.9.0');
    expect(templateVersion('Resources: {}\n')).toBeUndefined();
  });
});
