/**
 * The Lambda entry point. Configuration is read once at load and a bad value fails the
 * init with a message naming the variable; clients are created once per container.
 */
import { createClients } from '../adapters/clients.js';
import { PutPacer } from '../adapters/ssm.js';
import { readConfig } from '../core/config.js';
import { createLogger } from '../core/log.js';
import { Metrics } from '../core/metrics.js';
import { createHandler } from './handler.js';
import { createHubDeps } from './hub.js';

const config = readConfig(process.env);
const log = createLogger({ service: 'ec2ip', owner: config.ownerId }, { level: process.env.LOG_LEVEL ?? process.env.AWS_LAMBDA_LOG_LEVEL });
// SSM's standard throughput: about 3 PutParameter per second per account.
const putRate = Number(process.env.EC2IP_PUT_PARAMETER_RATE ?? 3);

export const handler = createHandler({
  clients: createClients(process.env, { region: config.region }),
  config,
  log,
  metrics: new Metrics('ec2ip', config.ownerId),
  zoneNames: new Map(),
  putPacer: new PutPacer(putRate),
  // Host keys are recorded at first sight, with the spoke role in a hub (infra/spoke.yaml).
  hostKeys: {},
  ...(config.hub ? { hub: createHubDeps(config, config.hub, process.env, putRate) } : {}),
});
