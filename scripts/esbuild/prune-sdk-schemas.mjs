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
//
// Optionally (`dropErrorClasses`, the Lambda bundle) it also removes the module's calls that
// register each modeled error of the service with its class:
//
//   n0_registry.registerError(ParameterNotFound$, ParameterNotFound);
//
// Those calls are top-level side effects, so they keep every error schema and every error
// class of the service (models/errors.js: 39 KB of SSM's, 18 KB of Route 53's). Without them
// the SDK throws an error it has no class for as an instance of the service's base exception
// (SSMServiceException, still registered) with `name` set to the error code, the message and
// `$fault` taken from the response, and the response's fields copied onto it: what ec2ip reads
// (`name`, `message`, `$metadata`) comes out the same, which test/integration/sdk-error-names
// checks against moto with both builds. What is lost is `instanceof ParameterNotFound` and
// the modeled members' types, so code in the Lambda must compare `error.name`; a test fails
// if functions/ ever imports an error class. The service base exception stays registered.

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

const ERROR_REGISTRATION = /^([A-Za-z_$][\w$]*)\.registerError\(([A-Za-z_$][\w$]*)\$, \2\);\n/gm;

/**
 * Removes `<ns>_registry.registerError(Name$, Name);` lines, except the service base
 * exception's (registered on `_s_registry`). Returns the new source and how many were removed.
 * @param {string} source
 * @returns {{ code: string, dropped: number }}
 */
export function dropErrorRegistrations(source) {
  let dropped = 0;
  const code = source.replace(ERROR_REGISTRATION, (line, registry) => {
    if (registry === '_s_registry') return line;
    dropped++;
    return '';
  });
  return { code, dropped };
}

/**
 * @param {{
 *   filter?: RegExp,
 *   inlineKeys?: boolean,
 *   dropErrorClasses?: boolean,
 *   stats?: Map<string, { before: number, replaced: number, dropped: number }>,
 * }} [options]
 *   `inlineKeys` (default true) rewrites the computed keys; `dropErrorClasses` (default false)
 *   removes the error registrations. `stats`, when given, receives per module its size, the
 *   number of keys rewritten and the number of registrations removed.
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
        const { code: withoutErrors, dropped } = options.dropErrorClasses ? dropErrorRegistrations(source) : { code: source, dropped: 0 };
        const { code, replaced } = options.inlineKeys === false ? { code: withoutErrors, replaced: 0 } : inlineComputedKeys(withoutErrors);
        options.stats?.set(args.path, { before: source.length, replaced, dropped });
        return { contents: code, loader: 'js' };
      });
    },
  };
}
