/** The hub's template parameters (infra/hub.yaml) from `ec2ip deploy --hub` flags, validated like the Lambda validates them. */
import { parseSpokeNames, parseSpokes, readSpokeExternalId } from '../../functions/core/config.js';
import { ConfigError } from '../../functions/core/errors.js';
import { templateProblem } from '../../functions/core/names.js';
import { UsageError } from '../cli/errors.js';

/** The flags of the hub and of the spokes' StackSet. */
export const HUB_OPTIONS = {
  hub: { type: 'boolean' },
  'spoke-role-name': { type: 'string' },
  'spoke-external-id': { type: 'string' },
  'spoke-list': { type: 'string' },
  'spoke-stack-set': { type: 'string' },
  'spoke-stack-set-call-as': { type: 'string' },
  'name-template': { type: 'string' },
  'spoke-names': { type: 'string' },
  'organization-id': { type: 'string' },
  'member-accounts': { type: 'string' },
} as const;

/** The parsed values of HUB_OPTIONS. */
export type HubValues = { [K in keyof typeof HUB_OPTIONS]?: (typeof HUB_OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

/** Hub template parameter → the flag that sets it, for messages. */
export const HUB_FLAG_OF: Record<string, string> = {
  SpokeExternalId: '--spoke-external-id (or SPOKE_EXTERNAL_ID; CloudFormation never shows it back, so an update needs it again)',
};

/** The hub parameters the flags (or SPOKE_EXTERNAL_ID) set; undefined = not given. */
export function hubParametersFromFlags(values: HubValues, env: Record<string, string | undefined>): Record<string, string | undefined> {
  const roleName = values['spoke-role-name'];
  if (roleName !== undefined && !/^[\w+=,.@-]{1,48}$/.test(roleName)) throw new UsageError(`--spoke-role-name ${roleName} must be 1-48 of A-Z a-z 0-9 + = , . @ _ - (the region is appended)`);
  const externalId = values['spoke-external-id'] ?? readSpokeExternalId(env);
  if (externalId !== undefined && !/^[\w+=,.@:/-]{2,1224}$/.test(externalId)) throw new UsageError('--spoke-external-id must be 2-1224 of A-Z a-z 0-9 + = , . @ : / _ -');
  let spokes = values['spoke-list'];
  if (spokes !== undefined && spokes !== '') {
    try {
      spokes = parseSpokes(spokes).map((s) => `${s.account}:${s.region}`).join(',');
    } catch (error) {
      throw new UsageError(`--spoke-list: ${(error as Error).message.replace(/^SPOKES /, '')}`, { cause: error });
    }
  }
  const stackSet = values['spoke-stack-set'];
  if (stackSet !== undefined && stackSet !== '' && !/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(stackSet)) throw new UsageError(`--spoke-stack-set ${stackSet} is not a StackSet name`);
  const callAs = values['spoke-stack-set-call-as'];
  if (callAs !== undefined && callAs !== 'SELF' && callAs !== 'DELEGATED_ADMIN') throw new UsageError('--spoke-stack-set-call-as must be SELF or DELEGATED_ADMIN');
  const template = values['name-template'];
  const problem = template === undefined ? undefined : templateProblem(template);
  if (problem) throw new UsageError(`--name-template ${template} is not usable: ${problem}`, { cause: new ConfigError(problem) });
  const spokeNames = values['spoke-names'];
  if (spokeNames !== undefined && spokeNames.trim() !== '') {
    try {
      parseSpokeNames(spokeNames);
    } catch (error) {
      throw new UsageError(`--spoke-names: ${(error as Error).message}`, { cause: error });
    }
  }
  const org = values['organization-id'];
  if (org !== undefined && org !== '' && !/^o-[a-z0-9]{10,32}$/.test(org)) throw new UsageError(`--organization-id ${org} is not an organization id (o-…)`);
  const members = values['member-accounts'];
  if (members !== undefined && members !== '' && !members.split(',').every((a) => /^\d{12}$/.test(a.trim()))) throw new UsageError('--member-accounts must be 12-digit account ids, comma-separated');
  return {
    SpokeRoleName: roleName,
    SpokeExternalId: externalId,
    Spokes: spokes,
    SpokeStackSet: stackSet,
    SpokeStackSetCallAs: callAs,
    NameTemplate: template,
    SpokeNames: spokeNames?.trim(),
    OrganizationId: org,
    MemberAccounts: members?.split(',').map((a) => a.trim()).join(','),
  };
}

/** A hub needs its spokes: listed, or a StackSet to list them from. */
export function checkHubParameters(parameters: Record<string, string>): void {
  if (!parameters.Spokes && !parameters.SpokeStackSet) throw new UsageError('a hub needs its spokes: pass --spoke-list 111111111111:us-east-1,… or --spoke-stack-set NAME');
  if (parameters.SpokeExternalId === '****') throw new UsageError(`${HUB_FLAG_OF.SpokeExternalId} is required`);
}

/**
 * What a hub's settings leave open: without SPOKE_NAMES and with a name template that does not
 * hold the account, every member account can claim every free name of the shared zones (`vpn`,
 * `www`, `login`) by tagging an instance first.
 */
export function hubWarnings(parameters: Record<string, string>): string[] {
  const template = parameters.NameTemplate || '{name}';
  if (parameters.SpokeNames || /\{account(-alias)?\}/.test(template)) return [];
  return [
    `Warning: with the name template ${template} and no --spoke-names, every member account can claim every free name in the hub's zones ` +
      '(vpn, www, login…) by tagging an instance first: limit each account with --spoke-names 111111111111:*.dev,222222222222:web|api, ' +
      'or put {account} or {account-alias} in --name-template',
  ];
}
