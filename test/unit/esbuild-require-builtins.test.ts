/** The esbuild plugin that turns the SDK's dynamic imports of Node built-ins into require(). */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { requireBuiltins, requireBuiltinsPlugin, SDK_MODULE } from '../../scripts/esbuild/require-builtins.mjs';

describe('requireBuiltins', () => {
  it('rewrites dynamic imports of built-ins, with or without the node: prefix', () => {
    const { code, replaced } = requireBuiltins(`const a = await import("node:http");\nconst b = await import('os');`);
    expect(replaced).toBe(2);
    expect(code).not.toContain('import(');
    expect(code).toContain('require("node:http")');
    expect(code).toContain('require("os")');
  });

  it('leaves packages, relative paths and computed specifiers alone', () => {
    const source = 'await import("@smithy/core/event-streams"); await import("./x.js"); await import(name); await import(`node:${m}`);';
    expect(requireBuiltins(source)).toEqual({ code: source, replaced: 0 });
  });

  it('resolves to an object with the named exports and the module as default, without reading lazy getters', async () => {
    const { code } = requireBuiltins('return import("node:http");');
    const load = new Function('require', code) as (r: NodeJS.Require) => Promise<Record<string, unknown>>;
    const http = await import('node:http');
    const ns = await load(createRequire(import.meta.url));
    expect(ns.default).toBe(http.default);
    expect(ns.request).toBe(http.request);
    expect(ns.Agent).toBe(http.Agent);
    const { request } = ns;
    expect(request).toBe(http.request);
    expect(Object.keys(ns)).toEqual(['default']);
  });

  it('matches the SDK packages only', () => {
    expect(SDK_MODULE.test('/p/node_modules/@smithy/node-http-handler/dist-es/node-http-handler.js')).toBe(true);
    expect(SDK_MODULE.test('/p/node_modules/@aws/lambda-invoke-store/dist-es/invoke-store.js')).toBe(true);
    expect(SDK_MODULE.test('/p/node_modules/@aws-sdk/client-ec2/dist-es/index.js')).toBe(true);
    expect(SDK_MODULE.test('/p/functions/sync/index.ts')).toBe(false);
    expect(SDK_MODULE.test('/p/node_modules/undici/index.js')).toBe(false);
  });
});

describe('requireBuiltinsPlugin', () => {
  it('leaves no dynamic import of a built-in in an ES module bundle, and the bundle still works', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ec2ip-require-builtins-'));
    const pkg = join(dir, 'node_modules', '@smithy', 'fake', 'dist-es');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(join(pkg, 'index.js'), 'export async function agent() { const m = await import("node:http"); const { Agent } = m.default ?? m; return new Agent({ keepAlive: true }); }\n');
    writeFileSync(join(dir, 'entry.mjs'), 'export { agent } from "./node_modules/@smithy/fake/dist-es/index.js";\n');
    const stats = new Map<string, number>();
    const result = await build({
      entryPoints: [join(dir, 'entry.mjs')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      write: false,
      outfile: join(dir, 'out.mjs'),
      banner: { js: "import { createRequire as __r } from 'node:module'; const require = __r(import.meta.url);" },
      plugins: [requireBuiltinsPlugin({ stats })],
      logLevel: 'silent',
    });
    const out = result.outputFiles[0]?.text ?? '';
    expect(out).not.toMatch(/import\(\s*"node:http"/);
    expect([...stats.values()]).toEqual([1]);
    writeFileSync(join(dir, 'out.mjs'), out);
    const mod = (await import(join(dir, 'out.mjs'))) as { agent: () => Promise<import('node:http').Agent> };
    const agent = await mod.agent();
    expect(agent).toBeInstanceOf((await import('node:http')).Agent);
    agent.destroy();
  });
});
