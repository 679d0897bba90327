/** The six states of an EC2 instance, as DescribeInstances and the state-change events name them. */
export const INSTANCE_STATES = ['pending', 'running', 'stopping', 'stopped', 'shutting-down', 'terminated'] as const;
export type InstanceState = (typeof INSTANCE_STATES)[number];

/** What ec2ip needs of an instance, read from DescribeInstances. Addresses are validated. */
export interface Instance {
  id: string;
  state: InstanceState;
  /** The raw value of the `ec2ip:name` tag, if the instance has one. */
  nameTag?: string;
  /** The raw value of the `ec2ip:eip` tag, if any. */
  eipTag?: string;
  /** ISO 8601; decides which of two claimants of a new name wins. */
  launchTime?: string;
  /**
   * ISO 8601: when the primary network interface was attached, which is the first boot: a
   * stop/start keeps the attachment (LaunchTime changes on start). Decides whether the
   * console may still show the host keys cloud-init printed at first boot.
   */
  firstBootTime?: string;
  publicIp?: string;
  privateIp?: string;
  ipv6: string[];
  /** Network interfaces, the primary (device index 0) first; listed only when there are several. */
  networkInterfaceIds?: string[];
  /** The member account the instance lives in: set by a hub only, with `region`. */
  account?: string;
  /** The account's IAM alias: set by a hub only, when NAME_TEMPLATE uses `{account-alias}`. */
  accountAlias?: string;
  /** The region the instance lives in: set by a hub only, with `account`. */
  region?: string;
}

export type ZoneKind = 'public' | 'private';

/** A hosted zone ec2ip writes to; `name` is lower case without the trailing dot. */
export interface Zone {
  id: string;
  kind: ZoneKind;
  name: string;
}

/** One Route 53 record set as listed; `name` is lower case with the trailing dot, as Route 53 returns it. */
export interface RecordSet {
  name: string;
  type: string;
  ttl?: number;
  values: string[];
  /** Alias records are never ec2ip's: it writes only plain A, AAAA and TXT records. */
  alias?: boolean;
}

export type OnStop = 'delete' | 'keep';

/** The configuration shared by the Lambda and the CLI. */
export interface Config {
  region: string;
  hostedZoneId?: string;
  privateHostedZoneId?: string;
  prefix: string;
  ttl: number;
  ownerId: string;
  onStop: OnStop;
  /** Attach Elastic IPs to instances tagged `ec2ip:eip` (ENABLE_ELASTIC_IP). */
  elasticIp?: boolean;
  /** Hub mode: the zones are written here for the instances of many accounts and regions. */
  hub?: HubConfig;
}

/** A member account and region whose instances a hub publishes. */
export interface Spoke {
  account: string;
  region: string;
}

/** How a hub reaches its spokes (SPOKE_* variables). */
export interface HubConfig {
  /** The role the hub assumes in each spoke (SPOKE_ROLE_NAME). */
  roleName: string;
  /** The external id the spoke role demands (SPOKE_EXTERNAL_ID). */
  externalId: string;
  /** The spokes, when listed explicitly (SPOKES). */
  spokes?: Spoke[];
  /** The StackSet whose stack instances are the spokes (SPOKE_STACK_SET), when not listed. */
  stackSet?: string;
  /** The record name of an instance, from `{name}`, `{account}`, `{account-alias}` and `{region}` (NAME_TEMPLATE). */
  nameTemplate: string;
  /** The names each member account may claim in the hub's zones (SPOKE_NAMES); absent: any free name. */
  spokeNames?: ReadonlyMap<string, readonly string[]>;
  /** The AWS partition of the role ARNs (`aws`, `aws-cn`, `aws-us-gov`), from the hub's region. */
  partition: string;
  /** Set when the hub lists the StackSet as its delegated administrator (SPOKE_STACK_SET_CALL_AS); SELF, the default, leaves it unset. */
  callAs?: 'DELEGATED_ADMIN';
}

/** The levels of the function's log lines, from the most detailed. */
export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/** How the process talks to AWS, shared by the Lambda and the CLI (EC2IP_* variables). */
export interface Runtime {
  /** Per-request timeout of every AWS call, in milliseconds (EC2IP_REQUEST_TIMEOUT_MS). */
  requestTimeoutMs: number;
  /** PutParameter calls per second per process and account (EC2IP_PUT_PARAMETER_RATE). */
  putParameterRate: number;
}
