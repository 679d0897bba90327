/**
 * The types of the sync loop (functions/sync/engine.ts re-exports the public ones) and the
 * per-run state its phases share: the sides (one per account and region) and the run.
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { Clients } from '../adapters/clients.js';
import type { SpokeClients } from '../adapters/spokes.js';
import type { ParameterListing, PutPacer } from '../adapters/ssm.js';
import type { HostKeyOptions } from './host-keys.js';
import type { Address, planAssociations } from '../core/eip.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import type { Plan } from '../core/plan.js';
import type { Config, Instance, Spoke } from '../core/types.js';

/** What the loop needs; created once per process and passed in, so tests can swap any part. */
export interface Deps {
  clients: Clients;
  config: Config;
  log: Logger;
  metrics: Metrics;
  /** Zone id → name, learnt once per process. */
  zoneNames: Map<string, string>;
  /** Paces PutParameter (one per process); none: unpaced. */
  putPacer?: PutPacer;
  /** Hub mode: how to reach the spokes. `clients` then serve Route 53 only. */
  hub?: HubDeps;
  /** Record host keys at first sight (the Lambda); absent: not looked at. */
  hostKeys?: HostKeyOptions;
}

/** What a hub needs to read and write inside its spokes. */
export interface HubDeps {
  /** The spoke's clients; their first call assumes the spoke role and may fail with SpokeUnreachableError. */
  clientsFor(spoke: Spoke): SpokeClients;
  /** Every spoke the hub serves (the reconcile): the configured list, or the StackSet's instances. */
  spokes(): Promise<Spoke[]>;
  /** One PutParameter pacer per spoke: SSM's throughput is per account and region. */
  pacerFor?(spoke: Spoke): PutPacer;
  /** The spoke account's IAM alias, or undefined when it has none (for NAME_TEMPLATE's {account-alias}). */
  accountAlias?(spoke: Spoke): Promise<string | undefined>;
}

/** Which instances a run is about: some ids (an event) or everything (the reconcile). */
export type Scope =
  /**
   * Some instances (in a hub, by instanceKey: `<account>/<region>/<id>`). `thorough` reads
   * whole zones and the whole prefix, so names an instance owns but no longer claims (a
   * removed or renamed tag) are found and released at once.
   */
  | { kind: 'instances'; ids: readonly string[]; thorough?: boolean }
  | { kind: 'all' };

export interface SyncOptions {
  /** Plan only; write nothing (the CLI's `plan`). */
  dryRun?: boolean;
  /** When the writes must be done by (epoch ms): the invocation's time left, less a margin. */
  deadline?: number;
  /** Ids (keys) whose `running` event is recent: a missing public IP may still come, so public parts are left as they are. */
  recentRunning?: ReadonlySet<string>;
}

export interface SyncResult {
  /** The instances of the scope as DescribeInstances shows them, by key; a key missing here was not found. */
  instances: Map<string, Instance>;
  /** The plan that was applied (or would be, in a dry run). */
  plan: Plan;
  /** Instances (keys) some of whose changes did not land, with the reason: retry them. */
  failed: Map<string, string>;
  /** Writes that landed. */
  written: number;
  /** Elastic IPs planned for attachment (attached unless a dry run) and why others were not. */
  elasticIps: ReturnType<typeof planAssociations>;
  /** Writes that landed, by kind, for the summary line. */
  stats: { recordsCreated: number; recordsDeleted: number; parametersWritten: number; parametersDeleted: number };
  /** A hub's spokes that could not be read (`<account>/<region>` → why): skipped, nothing of theirs changed. */
  unreachable: Map<string, string>;
}

/**
 * One account and region the run reads and writes parameters in: the function's own
 * (single-account mode, `spoke` undefined) or one of a hub's spokes.
 */
export interface Side {
  spoke: Spoke | undefined;
  ec2: EC2Client;
  ssm: SSMClient;
  pacer: PutPacer | undefined;
  /** The ids asked about (an event), or undefined (everything tagged). */
  ids: string[] | undefined;
  described: Instance[];
  listing: ParameterListing;
  addresses: Address[];
  /** The valid names its instances claim (parameter names: no template). */
  names: string[];
  eip: ReturnType<typeof planAssociations>;
  parameters: Map<string, string>;
  targets: Instance[];
  /** Why the side could not be read (a hub's unreachable spoke). */
  error?: string;
}

/** The sides of one run, by spoke key (`''` for single-account mode). */
export interface RunState {
  deps: Deps;
  sides: Map<string, Side>;
}
