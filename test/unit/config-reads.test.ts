/**
 * Every ec2ip setting is read in one place (core/config.ts): a scan of the source files under
 * functions/ and scripts/ for reads of an EC2IP_, SPOKE_ or LOG_ variable anywhere else, and
 * for process.env outside the entry points. The scan walks TypeScript's syntax tree, so the
 * form of the read does not matter: `process.env.X`, `env.X`, `env['X']`, a template key,
 * destructuring, `'X' in env`, a prefix test, or the name kept in a constant.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const VARIABLE = /^(EC2IP|SPOKE|LOG)_[A-Z0-9_]*$/;

/** The only module that reads ec2ip's settings. */
const CONFIG_MODULES = ['functions/core/config.ts'];

/**
 * Where process.env may appear: the entry points, and the code that hands the process's
 * environment on (to a child process, to the in-process Lambda of the demo, to the SDK's
 * credential provider in the bundle).
 */
const PROCESS_ENV_FILES = [
  'functions/sync/index.ts', // the Lambda's entry: passes it to readConfig and the SDK's clients
  'scripts/cli.ts', // the CLI's entry: silences the SDK's Node-version notice before any client exists
  'scripts/cli/io.ts', // the CLI's entry (scripts/cli.ts) gets its environment from here
  'scripts/cli/emulator.ts', // the environment of the moto child process
  'scripts/commands/demo.ts', // sets the in-process Lambda's environment, then restores it
  'scripts/esbuild/lambda-credential-provider.mjs', // the SDK's credentials, inside the bundle
];

interface Hit {
  line: number;
  text: string;
}

function parse(file: string, text: string): ts.SourceFile {
  const kind = /\.m?js$/.test(file) ? ts.ScriptKind.JS : ts.ScriptKind.TS;
  return ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, kind);
}

function hit(source: ts.SourceFile, node: ts.Node): Hit {
  return { line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1, text: node.getText(source) };
}

const nameOf = (name: ts.Node | undefined): string | undefined =>
  name && (ts.isIdentifier(name) || ts.isStringLiteralLike(name) || ts.isPrivateIdentifier(name)) ? name.text : undefined;

/** An object literal that is the target of an assignment: `({ X } = env)`. */
function isAssignmentTarget(node: ts.Node): boolean {
  const parent = node.parent;
  if (parent && ts.isBinaryExpression(parent) && parent.left === node && parent.operatorToken.kind === ts.SyntaxKind.EqualsToken) return true;
  if (parent && ts.isParenthesizedExpression(parent)) return isAssignmentTarget(parent);
  return false;
}

/** Every place in `text` that reads (or names, to read) an EC2IP_, SPOKE_ or LOG_ variable. */
export function settingReads(file: string, text: string): Hit[] {
  const source = parse(file, text);
  const hits: Hit[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isPropertyAccessExpression(node) && VARIABLE.test(node.name.text)) || (ts.isStringLiteralLike(node) && VARIABLE.test(node.text))) {
      hits.push(hit(source, node));
    } else if (ts.isTemplateExpression(node) && VARIABLE.test(node.head.text)) {
      // `EC2IP_${name}`: a name made up at run time (a message such as `EC2IP_X="${v}" is…` is not one).
      hits.push(hit(source, node));
    } else if (ts.isBindingElement(node) && VARIABLE.test(nameOf(node.propertyName ?? node.name) ?? '')) {
      hits.push(hit(source, node));
    } else if ((ts.isShorthandPropertyAssignment(node) || ts.isPropertyAssignment(node)) && VARIABLE.test(nameOf(node.name) ?? '') && isAssignmentTarget(node.parent)) {
      hits.push(hit(source, node));
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return hits;
}

/** Every use of the process's environment: `process.env`, `process['env']`, `const { env } = process`. */
export function processEnvUses(file: string, text: string): Hit[] {
  const source = parse(file, text);
  const hits: Hit[] = [];
  const isProcess = (node: ts.Node) => ts.isIdentifier(node) && node.text === 'process';
  const visit = (node: ts.Node): void => {
    if (ts.isPropertyAccessExpression(node) && isProcess(node.expression) && node.name.text === 'env') hits.push(hit(source, node));
    else if (ts.isElementAccessExpression(node) && isProcess(node.expression) && ts.isStringLiteralLike(node.argumentExpression) && node.argumentExpression.text === 'env') hits.push(hit(source, node));
    else if (ts.isVariableDeclaration(node) && node.initializer && isProcess(node.initializer) && ts.isObjectBindingPattern(node.name)) {
      if (node.name.elements.some((e) => nameOf(e.propertyName ?? e.name) === 'env')) hits.push(hit(source, node));
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return hits;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.(ts|mts|mjs|js)$/.test(e.name) && !e.name.endsWith('.d.ts') && !e.name.endsWith('.d.mts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)))
    .sort();
}

const FILES = [...sourceFiles('functions'), ...sourceFiles('scripts')];

describe('the scan itself', () => {
  it.each([
    'process.env.EC2IP_REQUEST_TIMEOUT_MS',
    'Number(env.EC2IP_PUT_PARAMETER_RATE ?? 3)',
    'io.env?.LOG_LEVEL',
    'this.env.SPOKE_STACK_SET_CALL_AS',
    "env['EC2IP_REQUEST_TIMEOUT_MS']",
    'env["SPOKE_NAMES"]',
    'env[`LOG_LEVEL`]',
    'env[`EC2IP_${name}`]',
    'const { EC2IP_REQUEST_TIMEOUT_MS } = process.env;',
    "const { SPOKE_STACK_SET_CALL_AS: callAs = 'SELF' } = env;",
    "const { 'LOG_LEVEL': level } = env;",
    'let level; ({ LOG_LEVEL: level } = env);',
    'let EC2IP_X; ({ EC2IP_X } = env);',
    "if ('EC2IP_PUT_PARAMETER_RATE' in env) {}",
    "Object.keys(env).filter((k) => k.startsWith('SPOKE_'));",
    "const NAME = 'LOG_LEVEL'; const v = env[NAME];",
  ])('finds %s', (code) => {
    expect(settingReads('x.ts', code).length).toBeGreaterThan(0);
  });

  it.each([
    "throw new Error('EC2IP_PUT_PARAMETER_RATE is not a rate: give a number');",
    'throw new Error(`EC2IP_PUT_PARAMETER_RATE="${rate}" is not a rate`);',
    'declare const EC2IP_VERSION: string | undefined; const v = typeof EC2IP_VERSION;',
    "setEnv({ LOG_LEVEL: 'WARN', SPOKE_ROLE_NAME: undefined });",
    'const LOG_RETENTION_DAYS = [1, 3]; LOG_RETENTION_DAYS.includes(1);',
    'env.PARAMETER_PREFIX; env.AWS_ENDPOINT_URL;',
  ])('lets %s pass', (code) => {
    expect(settingReads('x.ts', code)).toEqual([]);
  });

  it('finds process.env however it is reached', () => {
    for (const code of ['process.env.HOME', "process['env'].HOME", 'const { env } = process;', 'f(process.env);']) expect(processEnvUses('x.ts', code), code).toHaveLength(1);
    expect(processEnvUses('x.ts', 'io.env.HOME; const process2 = { env: 1 }; process2.env;')).toEqual([]);
  });
});

describe('settings are read in core/config.ts only', () => {
  it('scans every source file under functions/ and scripts/, the configuration module among them', () => {
    expect(FILES.length).toBeGreaterThan(50);
    for (const file of [...CONFIG_MODULES, ...PROCESS_ENV_FILES, 'functions/sync/handler.ts', 'scripts/cli/context.ts']) expect(FILES).toContain(file);
    const inConfig = settingReads('config.ts', readFileSync(join(ROOT, 'functions/core/config.ts'), 'utf8')).map((h) => h.text);
    for (const name of ['EC2IP_REQUEST_TIMEOUT_MS', 'EC2IP_PUT_PARAMETER_RATE', 'LOG_LEVEL', 'SPOKE_STACK_SET_CALL_AS', 'SPOKE_ROLE_NAME']) {
      expect(inConfig.some((t) => t.includes(name)), `the scan sees config.ts read ${name}`).toBe(true);
    }
  });

  it('finds no read of an EC2IP_, SPOKE_ or LOG_ variable outside it', () => {
    const outside = FILES.filter((f) => !CONFIG_MODULES.includes(f)).flatMap((file) =>
      settingReads(file, readFileSync(join(ROOT, file), 'utf8')).map((h) => `${file}:${h.line}: ${h.text}`),
    );
    // Read it in functions/core/config.ts, validated, and pass the typed value in.
    expect(outside).toEqual([]);
  });

  it('finds process.env only in the entry points and where the environment is handed on', () => {
    const outside = FILES.filter((f) => !PROCESS_ENV_FILES.includes(f)).flatMap((file) =>
      processEnvUses(file, readFileSync(join(ROOT, file), 'utf8')).map((h) => `${file}:${h.line}: ${h.text}`),
    );
    // Take the environment as a parameter (Io.env, or the entry point's process.env).
    expect(outside).toEqual([]);
    for (const file of PROCESS_ENV_FILES) expect(processEnvUses(file, readFileSync(join(ROOT, file), 'utf8')).length, `${file} still uses process.env`).toBeGreaterThan(0);
  });
});
