/** The esbuild plugin that lets esbuild tree-shake the SDK clients' schema modules. */
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { inlineComputedKeys, pruneSdkSchemas, SCHEMA_MODULE } from '../../scripts/esbuild/prune-sdk-schemas.mjs';

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
    const stats = new Map<string, { before: number; replaced: number }>();
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
