/**
 * Issue 21, "least privilege, proven", holds only if every integration test that talks to AWS
 * runs under the IAM audit (test/support/iam-audit.ts): a new file that forgets `useIamAudit`,
 * or a test's own proxy that does not carry `audit.hooks`, would let its calls go unevaluated
 * while `npm test` stays green. This reads the test files themselves and fails for either.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const DIR = new URL('../integration/', import.meta.url);

/** Files that talk to AWS and are not audited, each with the reason. */
const NOT_AUDITED: Record<string, string> = {
  // Tests the emulator and its helpers themselves (reset, zones, instances): no product code runs.
  'harness.test.ts': 'tests moto and test/support/moto.ts, not ec2ip',
  // Packaging: the packed CLI and the single-file executables run a few commands (get, ssh-config,
  // putty, deploy --dry-run) against moto to show they work outside the checkout. The same
  // commands' calls are audited where their behaviour is tested (cli-*, deploy); here the child
  // processes are given moto's endpoint straight, and the run mixes the Lambda's publish with
  // the person's commands under one key.
  'package.test.ts': 'packaging check; the commands it runs are audited in the files that test them',
};

const files = readdirSync(DIR).filter((f) => f.endsWith('.test.ts')).sort();
const source = (f: string) => readFileSync(new URL(f, DIR), 'utf8');
const count = (text: string, re: RegExp) => [...text.matchAll(re)].length;

/** Talks to AWS: uses the emulator's environment or endpoint, or an SDK client of its own. */
const talksToAws = (text: string) => /\buseMoto\(\)|\bmotoEndpoint\b|\bmotoClients\b|from '@aws-sdk\//.test(text);
const audited = (f: string) => !(f in NOT_AUDITED);

/** The argument text of each `startProxy(` call (up to its matching parenthesis). */
function proxyCalls(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/\bstartProxy\(/g)) {
    let depth = 0;
    let i = (m.index ?? 0) + 'startProxy'.length;
    const start = i;
    for (; i < text.length; i++) {
      if (text[i] === '(') depth++;
      else if (text[i] === ')' && --depth === 0) break;
    }
    out.push(text.slice(start, i + 1));
  }
  return out;
}

describe('every integration test that talks to AWS is IAM-audited', () => {
  it('finds the files and the lists name only files that exist', () => {
    expect(files.length).toBeGreaterThan(20);
    for (const f of Object.keys(NOT_AUDITED)) expect(files, `${f} is listed in ${import.meta.url} but does not exist`).toContain(f);
  });

  it.each(files.filter((f) => talksToAws(source(f)) && audited(f)))('%s calls useIamAudit in each describe that calls useMoto', (f) => {
    const text = source(f);
    const motos = count(text, /\buseMoto\(\)/g);
    const audits = count(text, /\buseIamAudit\(/g);
    expect(audits, `${f} talks to AWS but does not call useIamAudit: add it after useMoto() (test/support/iam-audit.ts), or list the file in NOT_AUDITED with the reason`).toBeGreaterThan(0);
    expect(audits, `${f} calls useMoto() ${motos} times but useIamAudit ${audits} times`).toBeGreaterThanOrEqual(motos);
  });

  it.each(files.filter((f) => audited(f) && /\bstartProxy\(/.test(source(f))))('%s gives every proxy of its own the audit\'s hooks', (f) => {
    for (const call of proxyCalls(source(f))) {
      expect(call, `${f}: a proxy without \`...audit.hooks\` lets its calls (and those it answers itself) past the audit`).toMatch(/\.\.\.\s*audit\.hooks\b/);
    }
  });

  it.each(files.filter((f) => audited(f) && talksToAws(source(f))))('%s never points the code under test straight at moto', (f) => {
    const straight = source(f).match(/AWS_ENDPOINT_URL\s*[:=]\s*(?:\w+\.endpoint\b|motoEndpoint\(\)|motoClients\(\)\.endpoint)/g) ?? [];
    expect(straight, `${f}: an AWS_ENDPOINT_URL set to moto's own endpoint bypasses the audit's proxy`).toEqual([]);
  });

  it('lists no audited file as not audited', () => {
    for (const f of Object.keys(NOT_AUDITED)) expect(source(f), `${f} now calls useIamAudit: remove it from NOT_AUDITED`).not.toMatch(/\buseIamAudit\(/);
  });
});
