// An esbuild plugin that lets esbuild tree-shake the AWS SDK v3 clients' schema modules.
//
// Each client ships one generated module (dist-es/schemas/schemas_0.js) that describes every
// shape of the service. Its object literals use computed keys built from string constants:
//
//   const _xN = "xmlName";
//   export var Foo$ = [3, n0, _F, 0, [_A], [[0, { [_xN]: _a }]]];
//
// A computed key may run code (a getter, toString), so esbuild must assume that evaluating
// `{ [_xN]: … }` has side effects and keeps every such declaration, used or not: nearly all of
// the EC2 client's 1.3 MB module lands in a bundle that needs a handful of its shapes. Rewriting
// each computed key whose expression is one of the module's own string constants into that
// string literal (`{ "xmlName": _a }`) changes nothing at run time and makes the literals pure,
// so esbuild drops the shapes nothing imports.
//
// Only modules whose path matches `filter` are touched, only `const _name = "…";` constants
// declared at the top of the module are inlined, and a key whose value is "__proto__" stays
// computed (as a literal key it would set the prototype instead of an own property).

/** Default: the schema modules of @aws-sdk clients (and nested clients). */
export const SCHEMA_MODULE = /[\\/]@aws-sdk[\\/][^\\/]+[\\/]dist-es[\\/](?:[^\\/]+[\\/])*schemas[\\/]schemas_\d+\.js$/;

const CONSTANT = /^const ([A-Za-z_$][\w$]*) = ("(?:[^"\\\n]|\\.)*");$/gm;
const COMPUTED_KEY = /([{,]\s*)\[([A-Za-z_$][\w$]*)\](\s*:)/g;

/**
 * Rewrites `{ [_c]: v }` into `{ "value": v }` for every top-level `const _c = "value";` of the
 * module. Returns the new source and how many keys were rewritten.
 * @param {string} source
 * @returns {{ code: string, replaced: number }}
 */
export function inlineComputedKeys(source) {
  /** @type {Map<string, string>} */
  const constants = new Map();
  for (const m of source.matchAll(CONSTANT)) {
    const [, name, literal] = m;
    // A name declared twice is not a constant we can trust: leave it alone.
    if (constants.has(name)) constants.set(name, '');
    else constants.set(name, literal);
  }
  let replaced = 0;
  const code = source.replace(COMPUTED_KEY, (whole, before, name, after) => {
    const literal = constants.get(name);
    if (!literal || JSON.parse(literal) === '__proto__') return whole;
    replaced++;
    return `${before}${literal}${after}`;
  });
  return { code, replaced };
}

/**
 * @param {{ filter?: RegExp, stats?: Map<string, { before: number, replaced: number }> }} [options]
 *   `stats`, when given, receives per module its size and the number of keys rewritten.
 * @returns {import('esbuild').Plugin}
 */
export function pruneSdkSchemas(options = {}) {
  const filter = options.filter ?? SCHEMA_MODULE;
  return {
    name: 'prune-sdk-schemas',
    setup(build) {
      build.onLoad({ filter }, async (args) => {
        const { readFile } = await import('node:fs/promises');
        const source = await readFile(args.path, 'utf8');
        const { code, replaced } = inlineComputedKeys(source);
        options.stats?.set(args.path, { before: source.length, replaced });
        return { contents: code, loader: 'js' };
      });
    },
  };
}
