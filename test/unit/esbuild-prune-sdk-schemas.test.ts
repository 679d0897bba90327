/** The esbuild plugin that lets esbuild tree-shake the SDK clients' schema modules. */
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { lambdaOptions } from '../../scripts/esbuild/options.mjs';
import { dropErrorRegistrations, inlineComputedKeys, pruneSdkSchemas, SCHEMA_MODULE } from '../../scripts/esbuild/prune-sdk-schemas.mjs';

const MODULE = `const _A = "Address";
const _xN = "xmlName";
const _eQN = "ec2QueryName";
const _p = "__proto__";
const n0 = "com.amazonaws.ec2";
export var Used$ = [3, n0, _A, 0, [_A], [[0, { [_eQN]: \`Address\`, [_xN]: _A }]]];
export var Unused$ = [3, n0, _A, 0, [_A], [[0, { [_xN]: _A }]]];
`;

describe('inlineComputedKeys', () => {
  it('rewrites computed keys that name a string constant into string literals', () => {
    const { code, replaced } = inlineComputedKeys(MODULE);
    expect(replaced).toBe(3);
    expect(code).toContain('{ "ec2QueryName": `Address`, "xmlName": _A }');
    expect(code).toContain('[[0, { "xmlName": _A }]]');
  });

  it('leaves arrays, values and unknown identifiers alone', () => {
    const source = 'const _A = "a";\nlet k = "x";\nexport var X = [_A, { [k]: _A, [_B]: 1 }, [_A]];\n';
    const { code, replaced } = inlineComputedKeys(source);
    expect(replaced).toBe(0);
    expect(code).toBe(source);
  });

  it('keeps a __proto__ key computed (as a literal it would set the prototype)', () => {
    const { code } = inlineComputedKeys('const _p = "__proto__";\nexport var X = { [_p]: 1 };\n');
    expect(code).toContain('{ [_p]: 1 }');
  });

  it('leaves a constant declared twice alone, and keeps escapes in values', () => {
    const { code } = inlineComputedKeys('const _a = "x";\nconst _a = "y";\nconst _q = "say \\"hi\\"";\nexport var X = { [_a]: 1, [_q]: 2 };\n');
    expect(code).toContain('{ [_a]: 1, "say \\"hi\\"": 2 }');
  });

  it('does not change what the module evaluates to', async () => {
    const load = async (source: string) => (await import(`data:text/javascript,${encodeURIComponent(source)}`)) as Record<string, unknown>;
    expect(await load(inlineComputedKeys(MODULE).code)).toEqual(await load(MODULE));
  });

  it('is idempotent', () => {
    const once = inlineComputedKeys(MODULE).code;
    expect(inlineComputedKeys(once)).toEqual({ code: once, replaced: 0 });
  });
});

const REGISTRATIONS = `const _s_registry = new TypeRegistry(_s);
export var SSMServiceException$ = [-3, _s, "SSMServiceException", 0, [], []];
_s_registry.registerError(SSMServiceException$, SSMServiceException);
const n0_registry = new TypeRegistry(n0);
export var ParameterNotFound$ = [-3, n0, _PNF, { [_e]: _c }, [_M], [0]];
n0_registry.registerError(ParameterNotFound$, ParameterNotFound);
n0_registry.registerError(ThrottlingException$, ThrottlingException);
n0_registry.registerError(Odd$, Other);
export const errorTypeRegistries = [
    _s_registry,
    n0_registry,
];
`;

describe('dropErrorRegistrations', () => {
  it('removes the modeled errors’ registrations and keeps the service base exception’s', () => {
    const { code, dropped } = dropErrorRegistrations(REGISTRATIONS);
    expect(dropped).toBe(2);
    expect(code).toContain('_s_registry.registerError(SSMServiceException$, SSMServiceException);');
    expect(code).not.toContain('registerError(ParameterNotFound$');
    expect(code).not.toContain('registerError(ThrottlingException$');
    // Only the generated shape `registerError(X$, X)` is recognised; anything else stays.
    expect(code).toContain('n0_registry.registerError(Odd$, Other);');
    // The schemas and the registries themselves stay (the client's runtime config imports them).
    expect(code).toContain('export var ParameterNotFound$');
    expect(code).toContain('export const errorTypeRegistries');
  });

  it('is idempotent', () => {
    const once = dropErrorRegistrations(REGISTRATIONS).code;
    expect(dropErrorRegistrations(once)).toEqual({ code: once, dropped: 0 });
  });

  it('finds every modeled error of the installed SSM client', async () => {
    const { readFile } = await import('node:fs/promises');
    const { createRequire } = await import('node:module');
    const path = createRequire(import.meta.url).resolve('@aws-sdk/client-ssm').replace(/dist-cjs[\\/]index\.js$/, 'dist-es/schemas/schemas_0.js');
    const source = await readFile(path, 'utf8');
    const registered = source.match(/\.registerError\(/g)?.length ?? 0;
    expect(registered).toBeGreaterThan(100);
    expect(dropErrorRegistrations(source).dropped).toBe(registered - 1);
  });
});

describe('SCHEMA_MODULE', () => {
  it('matches the clients’ schema modules only', () => {
    expect(SCHEMA_MODULE.test('/app/node_modules/@aws-sdk/client-ec2/dist-es/schemas/schemas_0.js')).toBe(true);
    expect(SCHEMA_MODULE.test('C:\\app\\node_modules\\@aws-sdk\\client-ssm\\dist-es\\schemas\\schemas_0.js')).toBe(true);
    expect(SCHEMA_MODULE.test('/app/node_modules/@aws-sdk/nested-clients/dist-es/submodules/sts/schemas/schemas_0.js')).toBe(true);
    expect(SCHEMA_MODULE.test('/app/node_modules/@aws-sdk/client-ec2/dist-cjs/schemas/schemas_0.js')).toBe(false);
    expect(SCHEMA_MODULE.test('/app/node_modules/@aws-sdk/client-ec2/dist-es/commands/DescribeInstancesCommand.js')).toBe(false);
  });
});

describe('pruneSdkSchemas with esbuild', () => {
  const bundle = async (contents: string, prune: boolean) => {
    const stats = new Map<string, { before: number; replaced: number; dropped: number }>();
    const result = await build({
      stdin: { contents, resolveDir: process.cwd(), loader: 'js' },
      bundle: true,
      platform: 'node',
      format: 'esm',
      mainFields: ['module', 'main'],
      minify: true,
      write: false,
      metafile: true,
      logLevel: 'silent',
      plugins: prune ? [pruneSdkSchemas({ stats })] : [],
    });
    const output = Object.values(result.metafile.outputs)[0];
    const schema = Object.entries(output?.inputs ?? {}).find(([path]) => SCHEMA_MODULE.test(path) && path.includes('client-ec2'));
    return { total: output?.bytes ?? 0, schema: schema?.[1].bytesInOutput ?? 0, stats, code: result.outputFiles[0]?.text ?? '' };
  };

  it('drops the EC2 schema entries a DescribeInstances-only bundle does not use', async () => {
    const entry = "export { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';";
    const [plain, pruned] = await Promise.all([bundle(entry, false), bundle(entry, true)]);
    expect(pruned.schema).toBeLessThan(plain.schema * 0.1);
    expect(pruned.total).toBeLessThan(plain.total * 0.6);
    expect([...pruned.stats].find(([path]) => path.includes('client-ec2'))?.[1].replaced).toBeGreaterThan(10_000);
    expect(pruned.code).toContain('DescribeInstances');
    expect(pruned.code).not.toContain('AcceptAddressTransfer');
  });

  it('keeps the shapes a command needs', async () => {
    const { code } = await bundle("export { DescribeInstancesCommand } from '@aws-sdk/client-ec2';", true);
    for (const member of ['reservationSet', 'instancesSet', 'ipAddress', 'privateIpAddress', 'tagSet']) expect(code).toContain(member);
  });
});

/** The modules that contribute code to the bundle (esbuild also lists those it read and dropped). */
async function bundledModules(options: Parameters<typeof build>[0]): Promise<string[]> {
  const result = await build({ ...options, write: false, sourcemap: false, logLevel: 'silent' });
  const output = Object.values(result.metafile?.outputs ?? {}).find((o) => o.entryPoint);
  return Object.entries(output?.inputs ?? {})
    .filter(([, input]) => input.bytesInOutput > 0)
    .map(([path]) => path);
}

describe('the Lambda bundle', () => {
  it('holds no SDK error class: code in functions/ must compare error.name, never use instanceof', async () => {
    // The Lambda build drops the error registrations (prune-sdk-schemas.mjs), so the SDK never
    // throws an instance of, say, ParameterNotFound. If functions/ imported such a class, its
    // instanceof test would silently never match; this fails first.
    const inputs = await bundledModules(lambdaOptions('/tmp/ec2ip-unused-outdir'));
    expect(inputs.some((path) => path.includes('client-ssm'))).toBe(true);
    const errorModules = inputs.filter((path) => /[\\/]models[\\/]errors\.js$/.test(path));
    expect(errorModules, `the Lambda bundle includes SDK error classes (${errorModules.join(', ')}): compare error.name instead of importing them`).toEqual([]);
  });

  it('with the error classes kept, holds them (the check above can fail)', async () => {
    const inputs = await bundledModules(lambdaOptions('/tmp/ec2ip-unused-outdir', { dropErrorClasses: false }));
    expect(inputs.filter((path) => /client-ssm[\\/]dist-es[\\/]models[\\/]errors\.js$/.test(path))).toHaveLength(1);
  });
});
