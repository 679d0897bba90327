/**
 * A hub's way into its spokes: EC2 and SSM clients per (account, region) whose credentials
 * come from STS AssumeRole of the spoke role with the external id, cached until shortly
 * before they expire.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { errorMessage, SpokeUnreachableError } from '../core/errors.js';
import { spokeKey } from '../core/ownership.js';
import type { HubConfig, Spoke } from '../core/types.js';
import { field, queryApi } from './aws-query.js';
import { clientConfig } from './clients.js';

/** What the hub's own calls are made with: the SDK's standard environment and the request timeout (EC2IP_REQUEST_TIMEOUT_MS). */
export interface AwsAccess {
  env: Record<string, string | undefined>;
  requestTimeoutMs: number;
}

/** The clients a hub uses inside one spoke. */
export interface SpokeClients {
  ec2: EC2Client;
  ssm: SSMClient;
}

/** How long an account alias is reused before it is read again. */
export const ALIAS_TTL_MS = 60 * 60 * 1000;

/** Credentials are renewed this long before they expire. */
export const CREDENTIAL_MARGIN_MS = 5 * 60 * 1000;

/**
 * The ARN of the role the hub assumes in a spoke: `<SPOKE_ROLE_NAME>-<region>` in the spoke's
 * account. IAM roles are global to an account, so each region's spoke stack has its own role,
 * scoped to that region (a StackSet deploys one stack per account and region).
 */
export function spokeRoleArn(hub: Pick<HubConfig, 'partition' | 'roleName'>, spoke: Spoke): string {
  return `arn:${hub.partition}:iam::${spoke.account}:role/${hub.roleName}-${spoke.region}`;
}

interface Cached {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

/**
 * Gives each spoke one client set (created on first use, then reused by every invocation of
 * the container), and each spoke role one AssumeRole until its credentials near expiry.
 */
export class SpokeDirectory {
  private readonly clients = new Map<string, SpokeClients>();
  private readonly credentials = new Map<string, { value?: Cached; pending?: Promise<Cached> }>();
  private readonly aliases = new Map<string, { at: number; alias: string | undefined }>();

  constructor(
    private readonly hub: HubConfig,
    private readonly sts: STSClient,
    private readonly sessionName: string,
    private readonly aws: AwsAccess,
    private readonly now: () => number = Date.now,
  ) {}

  /** The spoke's clients; their first call assumes the role (a failure names the account and region). */
  clientsFor(spoke: Spoke): SpokeClients {
    const key = spokeKey(spoke);
    let set = this.clients.get(key);
    if (!set) {
      const { credentials: _ignored, ...common } = clientConfig(this.aws.env, { region: spoke.region, requestTimeoutMs: this.aws.requestTimeoutMs });
      const credentials = () => this.credentialsFor(spoke);
      set = { ec2: new EC2Client({ ...common, credentials }), ssm: new SSMClient({ ...common, credentials }) };
      this.clients.set(key, set);
    }
    return set;
  }

  /** Assumed-role credentials of the spoke's role, from the cache while they last. */
  async credentialsFor(spoke: Spoke): Promise<Cached> {
    const key = spokeKey(spoke);
    let entry = this.credentials.get(key);
    if (!entry) this.credentials.set(key, (entry = {}));
    const fresh = entry.value && (!entry.value.expiration || entry.value.expiration.getTime() - this.now() > CREDENTIAL_MARGIN_MS);
    if (fresh && entry.value) return entry.value;
    const slot = entry;
    slot.pending ??= this.assume(spoke).then(
      (value) => {
        slot.value = value;
        delete slot.pending;
        return value;
      },
      (error: unknown) => {
        delete slot.pending;
        throw error;
      },
    );
    return slot.pending;
  }

  /**
   * The account's IAM account alias (`iam:ListAccountAliases` as the spoke role), or undefined
   * when it has none; read once per account and hour. Only a NAME_TEMPLATE with
   * `{account-alias}` asks for it.
   */
  async accountAlias(spoke: Spoke): Promise<string | undefined> {
    const cached = this.aliases.get(spoke.account);
    if (cached && this.now() - cached.at < ALIAS_TTL_MS) return cached.alias;
    const home = this.hub.partition === 'aws-cn' ? 'cn-north-1' : this.hub.partition === 'aws-us-gov' ? 'us-gov-west-1' : 'us-east-1';
    const answer = await queryApi(
      { service: 'iam', region: home, credentials: () => this.credentialsFor(spoke), env: this.aws.env, timeoutMs: this.aws.requestTimeoutMs },
      { Action: 'ListAccountAliases', Version: '2010-05-08' },
    ).catch((error: unknown) => {
      if (error instanceof SpokeUnreachableError) throw error;
      return { ok: false, status: 0, xml: `<Code>${errorMessage(error)}</Code>` };
    });
    if (!answer.ok) {
      const reason = `${field(answer.xml, 'Code') ?? `HTTP ${answer.status}`}${field(answer.xml, 'Message') ? `: ${field(answer.xml, 'Message')}` : ''}`;
      throw new SpokeUnreachableError(`cannot read the account alias of account ${spoke.account} (iam:ListAccountAliases, which NAME_TEMPLATE's {account-alias} needs): ${reason}`, spoke.account, spoke.region);
    }
    const alias = /<AccountAliases>\s*<member>([^<]+)<\/member>/.exec(answer.xml)?.[1];
    this.aliases.set(spoke.account, { at: this.now(), alias });
    return alias;
  }

  private async assume(spoke: Spoke): Promise<Cached> {
    const roleArn = spokeRoleArn(this.hub, spoke);
    try {
      const out = await this.sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: this.sessionName, ExternalId: this.hub.externalId, DurationSeconds: 3600 }));
      const c = out.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error('AssumeRole returned no credentials');
      return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}), ...(c.Expiration ? { expiration: new Date(c.Expiration) } : {}) };
    } catch (error) {
      throw new SpokeUnreachableError(`cannot assume ${roleArn} for account ${spoke.account} in ${spoke.region}: ${errorMessage(error)}`, spoke.account, spoke.region, { cause: error });
    }
  }
}

/** The STS client of a hub, in its own region. */
export function createStsClient(aws: AwsAccess, region: string): STSClient {
  return new STSClient(clientConfig(aws.env, { region, requestTimeoutMs: aws.requestTimeoutMs }));
}

/** A role session name from the owner id: at most 64 of the allowed characters. */
export function sessionName(ownerId: string): string {
  return `ec2ip-${ownerId}`.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
}
