/**
 * The Lambda entry point. Configuration is read once at load and a bad value fails the
 * init with a message naming the variable; clients are created once per container.
 */
import { createClients, createSqsClient } from '../adapters/clients.js';
import { PutPacer } from '../adapters/ssm.js';
import { readConfig, readLogLevel, readRuntime } from '../core/config.js';
import { createLogger } from '../core/log.js';
import { Metrics } from '../core/metrics.js';
import { createHandler } from './handler.js';
import { createHubDeps } from './hub.js';

const config = readConfig(process.env);
const runtime = readRuntime(process.env);
const log = createLogger({ service: 'ec2ip', owner: config.ownerId }, { level: readLogLevel(process.env) });

export const handler = createHandler({
  clients: createClients(process.env, { region: config.region, requestTimeoutMs: runtime.requestTimeoutMs }),
  config,
  log,
  metrics: new Metrics('ec2ip', config.ownerId),
  zoneNames: new Map(),
  putPacer: new PutPacer(runtime.putParameterRate),
  // Host keys are recorded at first sight, with the spoke role in a hub (infra/spoke.yaml).
  hostKeys: {},
  ...(config.hub ? { hub: createHubDeps(config, config.hub, runtime, process.env) } : {}),
}, { sqs: createSqsClient(process.env, { region: config.region, requestTimeoutMs: runtime.requestTimeoutMs }) });
