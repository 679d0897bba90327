/**
 * The README, ARCHITECTURE.md and docs/ link to each other: every relative link must reach a
 * file that exists and, with a `#fragment`, a heading of that file (GitHub's anchors).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');

function markdownFiles(): string[] {
  const docs = join(ROOT, 'docs');
  const inDocs = existsSync(docs) ? readdirSync(docs).filter((f) => f.endsWith('.md')).map((f) => join(docs, f)) : [];
  return [join(ROOT, 'README.md'), ...['ARCHITECTURE.md'].map((f) => join(ROOT, f)).filter(existsSync), ...inDocs];
}

/** Text outside fenced code blocks, where a `](…)` is a link and a `#` line a heading. */
function prose(text: string): string[] {
  const lines: string[] = [];
  let fenced = false;
  for (const line of text.split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    else if (!fenced) lines.push(line);
  }
  return lines;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const line of prose(text)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const plain = (heading[1] ?? '').replace(/`/g, '').replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const base = plain.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    result.add(n === 0 ? base : `${base}-${n}`);
  }
  return result;
}

function links(text: string): string[] {
  const inline = prose(text).join('\n').replace(/`[^`\n]*`/g, '');
  return [...inline.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1] as string);
}

describe('the documentation', () => {
  it('finds the README and its links', () => {
    const files = markdownFiles();
    expect(files.length).toBeGreaterThanOrEqual(1);
    expect(links(readFileSync(join(ROOT, 'README.md'), 'utf8')).length).toBeGreaterThan(0);
  });

  it('computes GitHub anchors', () => {
    expect([...anchors('# Ownership — the security core\n## `ec2ip doctor`\n## A, b\n## A, b\n```\n# not a heading\n```')]).toEqual([
      'ownership--the-security-core',
      'ec2ip-doctor',
      'a-b',
      'a-b-1',
    ]);
  });

  for (const file of markdownFiles()) {
    it(`resolves every relative link of ${relative(ROOT, file)}`, () => {
      const broken: string[] = [];
      for (const link of links(readFileSync(file, 'utf8'))) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue; // https:, mailto:
        const [path, fragment] = link.split('#') as [string, string | undefined];
        const target = path === '' ? file : resolve(dirname(file), decodeURIComponent(path));
        if (!existsSync(target)) {
          broken.push(`${link}: no file ${relative(ROOT, target)}`);
          continue;
        }
        if (fragment !== undefined && target.endsWith('.md') && !anchors(readFileSync(target, 'utf8')).has(fragment)) {
          broken.push(`${link}: no heading #${fragment} in ${relative(ROOT, target)}`);
        }
      }
      expect(broken).toEqual([]);
    });
  }

  it('names only files and folders that exist in ARCHITECTURE.md', () => {
    const text = readFileSync(join(ROOT, 'ARCHITECTURE.md'), 'utf8');
    const paths = [...text.matchAll(/`((?:functions|scripts|infra|test|bench|docs)\/[\w./-]*)`/g)].map((m) => m[1] as string);
    expect(paths.length).toBeGreaterThan(20);
    expect(paths.filter((p) => !existsSync(join(ROOT, p.replace(/\*.*$/, ''))))).toEqual([]);
  });
});
