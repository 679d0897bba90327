/**
 * A hub's wiring: the spoke directory (assumed-role clients per account and region), the
 * list of spokes (configured, or the StackSet's stack instances) and a PutParameter pacer
 * per spoke. Shared by the Lambda and the CLI.
 */
import { createStsClient, SpokeDirectory, sessionName, type AwsAccess } from '../adapters/spokes.js';
import { discoverSpokes } from '../adapters/stack-instances.js';
import { PutPacer } from '../adapters/ssm.js';
import { spokeKey } from '../core/ownership.js';
import type { Config, HubConfig, Runtime, Spoke } from '../core/types.js';
import type { HubDeps } from './engine.js';

/** How long a discovered list of spokes is reused before the StackSet is listed again. */
const DISCOVERY_TTL_MS = 5 * 60 * 1000;

/**
 * Builds what the sync loop needs to work across the hub's spokes. `env` is the SDK's
 * standard environment (endpoints, retries); ec2ip's own settings come typed in `runtime`.
 */
export function createHubDeps(config: Config, hub: HubConfig, runtime: Runtime, env: Record<string, string | undefined>): HubDeps {
  const aws: AwsAccess = { env, requestTimeoutMs: runtime.requestTimeoutMs };
  const sts = createStsClient(aws, config.region);
  const directory = new SpokeDirectory(hub, sts, sessionName(config.ownerId), aws);
  const pacers = new Map<string, PutPacer>();
  let discovered: { at: number; spokes: Promise<Spoke[]> } | undefined;
  return {
    clientsFor: (spoke) => directory.clientsFor(spoke),
    accountAlias: (spoke) => directory.accountAlias(spoke),
    async spokes() {
      if (hub.spokes) return hub.spokes;
      if (!discovered || Date.now() - discovered.at > DISCOVERY_TTL_MS) {
        const spokes = discoverSpokes({ region: config.region, credentials: sts.config.credentials, env, timeoutMs: runtime.requestTimeoutMs }, hub.stackSet ?? '', hub.callAs);
        discovered = { at: Date.now(), spokes };
        discovered.spokes.catch(() => (discovered = undefined));
      }
      return discovered.spokes;
    },
    pacerFor(spoke) {
      let pacer = pacers.get(spokeKey(spoke));
      if (!pacer) pacers.set(spokeKey(spoke), (pacer = new PutPacer(runtime.putParameterRate)));
      return pacer;
    },
  };
}
