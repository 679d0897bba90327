/**
 * Random lifecycles of a few instances on moto, for the ordering and fault properties: the
 * arbitraries that describe one (instances, operations, ON_STOP) and the runner that plays
 * it, publishes each operation's events to an EventBus (dropped, duplicated, shuffled as
 * the options say), delivers them while the lifecycle goes on, checks safety after every
 * step, then runs the scheduled reconcile and checks the truth.
 */
import fc from 'fast-check';
import { loadPinnedHandler } from './bundle.js';
import { createWorld, describeAll, safetyViolations, snapshot, truthViolations } from './convergence.js';
import { EventBus, type BusOptions, type Chooser } from './delivery.js';
import { scheduledEvent, stateChangeEvent, tagChangeEvent } from './events.js';
import { resetMoto, runInstance, startInstances, stopInstances, tagInstance, terminateInstances, untagInstance } from './moto.js';

export const MAX_INSTANCES = 4;

/** Names drawn for tags: mostly shared ones, an uppercase spelling of `web`, and two names that are someone else's in the public zone. */
const nameArb = fc.constantFrom('web', 'web', 'web', 'Web', 'api', 'api', 'legacy', 'other');
const tagArb = fc.option(nameArb, { nil: undefined, freq: 5 });

export type Op =
  | { kind: 'stop' | 'start' | 'terminate' | 'untag'; i: number }
  | { kind: 'tag'; i: number; name: string }
  | { kind: 'launch'; name: string | undefined };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('stop' as const), i: fc.nat(MAX_INSTANCES - 1) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('start' as const), i: fc.nat(MAX_INSTANCES - 1) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('terminate' as const), i: fc.nat(MAX_INSTANCES - 1) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('tag' as const), i: fc.nat(MAX_INSTANCES - 1), name: nameArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('untag' as const), i: fc.nat(MAX_INSTANCES - 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('launch' as const), name: tagArb }) },
);

export interface Scenario {
  /** The initial instances' `ec2ip:name` tags (undefined: untagged). */
  instances: (string | undefined)[];
  ops: Op[];
  onStop: 'delete' | 'keep';
}

export const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  instances: fc.array(tagArb, { minLength: 2, maxLength: MAX_INSTANCES }),
  ops: fc.array(opArb, { minLength: 1, maxLength: 10 }),
  onStop: fc.constantFrom<'delete' | 'keep'>('delete', 'delete', 'keep'),
});

export interface RunOptions {
  /** Extra Lambda environment (an endpoint through a fault proxy, retry settings…). */
  env?: Record<string, string | undefined>;
  bus?: BusOptions;
  /** Copies of each event to choose from at random: 0 drops it, 2 duplicates it. */
  copies?: readonly number[];
  /** Scheduled reconciles tried until one succeeds (each failed one is retried at the next tick). */
  reconcileTicks?: number;
  /** Called once the truth is reached, before the check that a second reconcile writes nothing (to turn faults off). */
  quiesce?: () => void;
  /** Fail if an SQS message gave up (went to the DLQ). */
  noDeadLetters?: boolean;
}

interface Model {
  id: string;
  state: 'running' | 'stopped' | 'terminated';
  tag: string | undefined;
}

/** Plays one scenario on a freshly reset moto; throws with every violation and the history if it goes wrong. */
export async function runScenario(scenario: Scenario, choose: Chooser, options: RunOptions = {}): Promise<{ bus: EventBus }> {
  await resetMoto();
  const world = await createWorld({ ON_STOP: scenario.onStop, ...options.env });
  const foreign = await snapshot(world);
  const bus = new EventBus(await loadPinnedHandler(world.env), choose, options.bus);
  const models: Model[] = [];
  const ipHistory = new Map<string, Set<string>>();
  const history: string[] = [];
  const fail = (what: string, problems: string[]): never => {
    throw new Error(`${what}:\n  - ${problems.join('\n  - ')}\nlifecycle: ${history.join('; ')}\ndeliveries (last 40):\n${bus.describe()}`);
  };
  const checkSafety = async (when: string) => {
    const unsafe = safetyViolations(foreign, await snapshot(world));
    if (unsafe.length > 0) fail(`unsafe state ${when}`, unsafe);
  };

  const copies = options.copies ?? [0, 1, 1, 1, 2];
  const publish = (event: unknown, label: string) => bus.publish(event, copies[choose.int(0, copies.length - 1)] as number, label);
  const rememberIps = async (ids: string[]) => {
    for (const i of await describeAll(ids)) {
      if (i.InstanceId && i.PublicIpAddress) ipHistory.set(i.InstanceId, (ipHistory.get(i.InstanceId) ?? new Set()).add(i.PublicIpAddress));
    }
  };
  const launch = async (tag: string | undefined) => {
    const id = await runInstance(tag === undefined ? {} : { tags: { 'ec2ip:name': tag } });
    models.push({ id, state: 'running', tag });
    history.push(`launch ${id}${tag === undefined ? '' : ` as ${tag}`}`);
    await rememberIps([id]);
    publish(stateChangeEvent(id, 'pending'), `${id} pending`);
    publish(stateChangeEvent(id, 'running'), `${id} running`);
    if (tag !== undefined) publish(tagChangeEvent(id, { 'ec2ip:name': tag }, ['ec2ip:name']), `${id} tag ${tag}`);
  };

  for (const tag of scenario.instances) await launch(tag);
  await bus.deliver(choose.int(0, bus.pending));

  for (const op of scenario.ops) {
    if (op.kind === 'launch') {
      if (models.length >= MAX_INSTANCES) continue;
      await launch(op.name);
    } else {
      const m = models[op.i % models.length] as Model;
      const { id } = m;
      if (op.kind === 'stop' && m.state === 'running') {
        await stopInstances([id]);
        m.state = 'stopped';
        publish(stateChangeEvent(id, 'stopping'), `${id} stopping`);
        publish(stateChangeEvent(id, 'stopped'), `${id} stopped`);
      } else if (op.kind === 'start' && m.state === 'stopped') {
        await startInstances([id]);
        m.state = 'running';
        await rememberIps([id]);
        publish(stateChangeEvent(id, 'pending'), `${id} pending`);
        publish(stateChangeEvent(id, 'running'), `${id} running`);
      } else if (op.kind === 'terminate' && m.state !== 'terminated') {
        await terminateInstances([id]);
        m.state = 'terminated';
        publish(stateChangeEvent(id, 'shutting-down'), `${id} shutting-down`);
        publish(stateChangeEvent(id, 'terminated'), `${id} terminated`);
      } else if (op.kind === 'tag' && m.state !== 'terminated') {
        await tagInstance(id, { 'ec2ip:name': op.name });
        m.tag = op.name;
        publish(tagChangeEvent(id, { 'ec2ip:name': op.name }, ['ec2ip:name']), `${id} tag ${op.name}`);
      } else if (op.kind === 'untag' && m.state !== 'terminated' && m.tag !== undefined) {
        await untagInstance(id, ['ec2ip:name']);
        m.tag = undefined;
        publish(tagChangeEvent(id, {}, ['ec2ip:name']), `${id} untag`);
      } else {
        continue;
      }
      history.push(`${op.kind} ${id}${op.kind === 'tag' ? ` as ${op.name}` : ''}`);
    }
    await bus.deliver(choose.int(0, bus.pending));
    await checkSafety(`after "${history.at(-1)}"`);
  }

  await bus.drain();
  await checkSafety('after the events');
  if (options.noDeadLetters && bus.deadLetters.length > 0) fail('messages went to the DLQ', bus.deadLetters.map((d) => d.label));

  let reconciled = false;
  for (let tick = 1; tick <= (options.reconcileTicks ?? 1) && !reconciled; tick++) {
    const run = await bus.invoke(scheduledEvent(), `reconcile #${tick}`);
    reconciled = !run.threw;
    await checkSafety(`after reconcile #${tick}`);
  }
  if (!reconciled) fail('no reconcile succeeded', [bus.describe(1)]);
  const instances = await describeAll(models.map((m) => m.id));
  const wrong = truthViolations(foreign, await snapshot(world), instances, { onStop: scenario.onStop, publicIpHistory: ipHistory, sameHolderEverywhere: true });
  if (wrong.length > 0) fail('the reconcile did not converge to the truth', wrong);

  // Converged means a second reconcile has nothing to do.
  options.quiesce?.();
  const again = await bus.invoke(scheduledEvent(), 'second reconcile');
  const writes = again.lines.filter((l) => ['records published', 'records released', 'parameters written'].includes(String(l.message)));
  if (again.threw || writes.length > 0) fail('a second reconcile still wrote', again.threw ? [String(again.outcome)] : writes.map((l) => JSON.stringify(l.changes)));
  return { bus };
}

/** A Chooser over fast-check's `gen` (the choices shrink and replay with the run). */
export function fromGen(g: fc.GeneratorValue): Chooser {
  return { int: (min, max) => g(fc.integer, { min, max }) };
}
