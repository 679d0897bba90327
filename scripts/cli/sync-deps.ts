/** The sync loop's dependencies for a CLI run: the user's clients, no metrics, logs only when asked. */
import { PutPacer } from '../../functions/adapters/ssm.js';
import { createLogger } from '../../functions/core/log.js';
import { Metrics } from '../../functions/core/metrics.js';
import type { Deps } from '../../functions/sync/engine.js';
import { createHubDeps } from '../../functions/sync/hub.js';
import type { Context } from './context.js';
import type { Io } from './io.js';

/** `verbose` sends the loop's JSON log lines to stderr; otherwise they are dropped (the command prints its own report). */
export function syncDeps(ctx: Context, io: Io, verbose: boolean): Deps {
  const log = createLogger({ service: 'ec2ip-cli', owner: ctx.config.ownerId }, { level: verbose ? 'DEBUG' : 'ERROR', write: verbose ? (line) => io.stderr(`${line}\n`) : () => undefined });
  // With the hub's settings in the environment, plan and reconcile go through the spoke roles,
  // which trust the hub's function role only: run them as that role (or from the function).
  const hub = ctx.config.hub ? { hub: createHubDeps(ctx.config, ctx.config.hub, ctx.runtime, io.env) } : {};
  return { clients: ctx.clients, config: ctx.config, log, metrics: new Metrics('ec2ip', ctx.config.ownerId), zoneNames: new Map(), putPacer: new PutPacer(ctx.runtime.putParameterRate), ...hub };
}
