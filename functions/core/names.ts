/** Validation of `ec2ip:name` values and the DNS and SSM names derived from them. */

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const MAX_FQDN = 253;

/** The result of reading an `ec2ip:name` tag. */
export type NameCheck = { ok: true; name: string } | { ok: false; reason: string };

/**
 * Normalises a tag value to the relative name it means (DNS is case-insensitive, so
 * `Web` is `web`) and refuses anything that is not a plain relative name whose ownership
 * record `_ec2ip.<name>.<zone>` fits in every configured zone.
 */
export function checkName(tag: string, zoneNames: readonly string[]): NameCheck {
  if (tag.length === 0) return { ok: false, reason: 'the ec2ip:name tag is empty' };
  if (tag.length > MAX_FQDN) return { ok: false, reason: `the ec2ip:name tag is ${tag.length} characters long; a DNS name has at most ${MAX_FQDN}` };
  const name = tag.toLowerCase();
  const labels = name.split('.');
  for (const label of labels) {
    if (!LABEL.test(label)) {
      return {
        ok: false,
        reason: `the ec2ip:name tag "${tag}" has the label "${label}": each label must be 1-63 characters of a-z, 0-9 and "-", not starting or ending with "-"`,
      };
    }
  }
  for (const zone of zoneNames) {
    const owner = ownershipFqdn(name, zone);
    if (owner.length - 1 > MAX_FQDN) {
      return { ok: false, reason: `the ec2ip:name tag "${tag}" is too long for the zone ${zone}: ${owner} exceeds ${MAX_FQDN} characters` };
    }
  }
  return { ok: true, name };
}

const ZONE_LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/**
 * Why a hosted zone's name (as GetHostedZone returned it, lower case, no trailing dot) is not
 * a DNS name ec2ip can put into a file, or undefined when it is one: labels of a-z, 0-9, `-`
 * and `_`. Route 53 escapes any other character as `\ooo`, so this refuses only what an
 * endpoint that is not Route 53 made up (a newline would start a line of the ssh config).
 */
export function zoneNameProblem(zone: string): string | undefined {
  if (zone.length === 0 || zone.length > MAX_FQDN) return `it is ${zone.length} characters long; a DNS name has 1 to ${MAX_FQDN}`;
  const bad = zone.split('.').find((label) => !ZONE_LABEL.test(label));
  return bad === undefined ? undefined : `its label ${JSON.stringify(bad)} is not 1-63 characters of a-z, 0-9, "-" and "_"`;
}

/** `<name>.<zone>.`, as Route 53 lists it. */
export function recordFqdn(name: string, zone: string): string {
  return `${name}.${zone}.`;
}

/** `_ec2ip.<name>.<zone>.`: where the ownership TXT record of a name lives. */
export function ownershipFqdn(name: string, zone: string): string {
  return `_ec2ip.${name}.${zone}.`;
}

/** The relative name an ownership record stands for, or undefined if `fqdn` is not one in `zone`. */
export function nameOfOwnershipFqdn(fqdn: string, zone: string): string | undefined {
  const prefix = '_ec2ip.';
  const suffix = `.${zone}.`;
  if (!fqdn.startsWith(prefix) || !fqdn.endsWith(suffix)) return undefined;
  const name = fqdn.slice(prefix.length, fqdn.length - suffix.length);
  return name.length > 0 ? name : undefined;
}

/** The SSM folder of a name: `<prefix>/<name>`. */
export function parameterFolder(prefix: string, name: string): string {
  return `${prefix}/${name}`;
}

/** The relative name and leaf of a parameter under the prefix, or undefined for anything else. */
export function splitParameter(prefix: string, parameter: string): { name: string; leaf: string } | undefined {
  if (!parameter.startsWith(`${prefix}/`)) return undefined;
  const rest = parameter.slice(prefix.length + 1).split('/');
  if (rest.length !== 2 || !rest[0] || !rest[1]) return undefined;
  return { name: rest[0], leaf: rest[1] };
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9a-f:.]+$/i;

/** A dotted-quad IPv4 address, or undefined: DescribeInstances output is validated, not trusted. */
export function ipv4(value: string | null | undefined): string | undefined {
  return typeof value === 'string' && IPV4.test(value) ? value : undefined;
}

/** An IPv6 address in the form Route 53 accepts, or undefined. */
export function ipv6(value: string | null | undefined): string | undefined {
  if (typeof value !== 'string' || !IPV6.test(value) || !value.includes(':') || value.length > 45) return undefined;
  return value.toLowerCase();
}

/** The placeholders a hub's NAME_TEMPLATE may use. */
export const TEMPLATE_FIELDS = ['name', 'account', 'account-alias', 'region'] as const;

/** Where an instance lives, for a name template. */
export interface TemplatePlace {
  account?: string | undefined;
  accountAlias?: string | undefined;
  region?: string | undefined;
}

/**
 * The record name of an instance under a hub's name template: `{name}` is the checked
 * `ec2ip:name`, `{account}`, `{account-alias}` (its IAM account alias) and `{region}` where the
 * instance lives. `{name}` alone is the name.
 */
export function applyNameTemplate(template: string, name: string, where: TemplatePlace): string {
  const values: Record<string, string> = { name, account: where.account ?? '', 'account-alias': where.accountAlias ?? '', region: where.region ?? '' };
  return template.replace(/\{(name|account-alias|account|region)\}/g, (_, field: string) => values[field] ?? '');
}

/** True when the template needs each spoke account's IAM alias. */
export function usesAccountAlias(template: string | undefined): boolean {
  return template?.includes('{account-alias}') ?? false;
}

/**
 * The record name under the template, checked; an account without the alias the template needs is refused by name,
 * and so is a name outside the account's SPOKE_NAMES rule when the hub has that setting.
 */
export function checkTemplateName(template: string, name: string, where: TemplatePlace, zoneNames: readonly string[], spokeNames?: SpokeNames): NameCheck {
  if (spokeNames) {
    const allowed = checkSpokeName(spokeNames, where.account, name);
    if (!allowed.ok) return allowed;
  }
  if (usesAccountAlias(template) && !where.accountAlias) {
    return {
      ok: false,
      reason: `NAME_TEMPLATE "${template}" needs an IAM account alias, and account ${where.account ?? '(unknown)'} has none: set one there (aws iam create-account-alias --account-alias NAME) or use {account}`,
    };
  }
  return checkName(applyNameTemplate(template, name, where), zoneNames);
}

/**
 * Why a name template cannot work, or undefined: it must hold `{name}` once, only the known
 * placeholders, and give valid DNS labels around them.
 */
export function templateProblem(template: string): string | undefined {
  const fields = [...template.matchAll(/\{([^}]*)\}/g)].map((m) => m[1] ?? '');
  const unknown = fields.find((f) => !(TEMPLATE_FIELDS as readonly string[]).includes(f));
  if (unknown !== undefined) return `it uses {${unknown}}; the placeholders are ${TEMPLATE_FIELDS.map((f) => `{${f}}`).join(', ')}`;
  if (fields.filter((f) => f === 'name').length !== 1) return 'it must contain {name} exactly once';
  const sample = applyNameTemplate(template, 'web', { account: '111111111111', accountAlias: 'acme-prod', region: 'us-east-1' });
  if (/[{}]/.test(sample)) return 'it has an unmatched brace';
  const check = checkName(sample, []);
  return check.ok ? undefined : `it does not give a valid name (for web in 111111111111 (acme-prod) us-east-1: ${check.reason})`;
}

/**
 * The names each member account of a hub may claim (SPOKE_NAMES): account id → its patterns.
 * A pattern is a relative name (`web`), or `*.` before one (`*.dev`: any name ending in `.dev`),
 * or `*` (every name). When the setting is given, an account it does not list claims no name.
 */
export type SpokeNames = ReadonlyMap<string, readonly string[]>;

/** True when `name` (a checked `ec2ip:name`) fits the pattern. */
export function nameMatches(pattern: string, name: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) return name.endsWith(pattern.slice(1)) && name.length > pattern.length - 1;
  return name === pattern;
}

/** Why a SPOKE_NAMES pattern cannot work, or undefined. */
export function spokeNamePatternProblem(pattern: string): string | undefined {
  if (pattern === '*') return undefined;
  const rest = pattern.startsWith('*.') ? pattern.slice(2) : pattern;
  const check = checkName(rest, []);
  if (!check.ok) return `"${pattern}" is no name pattern: a relative name (web, api.dev), "*." before one (*.dev) or "*"`;
  if (check.name !== rest) return `"${pattern}" has upper-case letters: write names in lower case`;
  return undefined;
}

/** Whether the account may claim the name under SPOKE_NAMES; the refusal names the account and its rule. */
export function checkSpokeName(rules: SpokeNames, account: string | undefined, name: string): NameCheck {
  const patterns = account === undefined ? undefined : rules.get(account);
  if (!patterns) {
    return { ok: false, reason: `account ${account ?? '(unknown)'} is not in SPOKE_NAMES, so it may claim no name in the hub's zones: add "${account ?? '<account>'}:${name}" (or a pattern such as *.team) to SPOKE_NAMES` };
  }
  if (patterns.some((p) => nameMatches(p, name))) return { ok: true, name };
  return { ok: false, reason: `account ${account} may claim only the names of its SPOKE_NAMES rule "${account}:${patterns.join('|')}", and "${name}" is not one of them: rename the instance's ec2ip:name or widen the rule` };
}
