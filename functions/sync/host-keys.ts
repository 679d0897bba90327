/**
 * Recording host keys at first sight: a step of the sync loop, after its writes. For each
 * running target that holds its name's parameters and has no `host-keys` record yet, it reads
 * the console while the instance is in its first HOST_KEY_WINDOW_MS (cloud-init prints the key
 * block at the first boot only) and records the keys once found; past the window it records
 * that it gave up, with one log line. Keys are written create-only, once per instance id, and
 * never overwritten here. It runs in the scheduled reconcile and tag-change runs, never for a
 * state event (those stay one round of reads), and never sends an item back for a retry: the
 * next look is the next reconcile (15 minutes by default, so at least one falls in the window
 * after cloud-init has printed the keys).
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { consoleOutput } from '../adapters/ec2.js';
import { applyParameters, getParameters, type PutPacer } from '../adapters/ssm.js';
import { errorMessage } from '../core/errors.js';
import { fingerprint, formatHostKeyRecord, HOST_KEY_WINDOW_MS, HOST_KEYS_LEAF, parseConsoleHostKeys, parseHostKeyRecord, sameKeys, type HostKey, type HostKeyRecord } from '../core/host-keys.js';
import { checkName, parameterFolder } from '../core/names.js';
import type { ParameterChange } from '../core/plan.js';
import type { Config, Instance, Spoke } from '../core/types.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';

/** Turns the step on (the Lambda does; the CLI's `reconcile` does not) and bounds it. */
export interface HostKeyOptions {
  /** The clock the window is measured with (tests move it). */
  now?: () => number;
  /** Most GetConsoleOutput calls per run. Default 10. */
  maxReads?: number;
  /** Most `host-keys` records written per run (a first reconcile of an old fleet). Default 10. */
  maxWrites?: number;
}

/** One account and region: its clients and what the run read and planned there. */
export interface HostKeySide {
  spoke: Spoke | undefined;
  ec2: EC2Client;
  ssm: SSMClient;
  pacer: PutPacer | undefined;
  targets: readonly Instance[];
  /** The parameters read before the writes. */
  parameters: ReadonlyMap<string, string>;
}

interface Candidate {
  side: HostKeySide;
  instance: Instance;
  name: string;
  parameter: string;
  firstBoot: string;
}

/** The run's budget, shared by its sides. */
interface Budget {
  reads: number;
  writes: number;
}

/** Leaves deadline-bound work alone with less than this left. */
const MIN_TIME_MS = 5_000;
const READ_CONCURRENCY = 5;

/** The parameters as they are after `changes` (the applied ones, or the planned ones). */
function after(parameters: ReadonlyMap<string, string>, changes: readonly ParameterChange[]): Map<string, string> {
  const out = new Map(parameters);
  for (const c of changes) {
    if (c.action === 'delete') out.delete(c.parameter);
    else if (c.value !== undefined) out.set(c.parameter, c.value);
  }
  return out;
}

/**
 * The running targets that own their name's parameters (its `instance-id` names them) once
 * `changes` are applied, and have no `host-keys` record of their own.
 */
export function hostKeyCandidates(config: Config, side: HostKeySide, changes: readonly ParameterChange[]): Candidate[] {
  const now = after(side.parameters, changes);
  const out: Candidate[] = [];
  for (const instance of side.targets) {
    if (instance.state !== 'running' || instance.nameTag === undefined) continue;
    const firstBoot = instance.firstBootTime ?? instance.launchTime;
    if (!firstBoot) continue;
    // Parameter names carry no template: the plain name, valid in no particular zone.
    const check = checkName(instance.nameTag, []);
    if (!check.ok) continue;
    const folder = parameterFolder(config.prefix, check.name);
    if (now.get(`${folder}/instance-id`) !== instance.id) continue;
    const recorded = now.get(`${folder}/${HOST_KEYS_LEAF}`);
    if (recorded !== undefined) {
      const parsed = parseHostKeyRecord(recorded);
      if ('record' in parsed && parsed.record.instance === instance.id) continue;
      // Another instance's or malformed: the plan deletes it; recorded afresh at the next look.
      if (!changes.some((c) => c.action === 'delete' && c.parameter === `${folder}/${HOST_KEYS_LEAF}`)) continue;
    }
    out.push({ side, instance, name: check.name, parameter: `${folder}/${HOST_KEYS_LEAF}`, firstBoot });
  }
  return out;
}

/** What the step needs of the loop's dependencies. */
export interface HostKeyDeps {
  config: Config;
  log: Logger;
  metrics: Metrics;
  hostKeys?: HostKeyOptions;
}

/**
 * Starts the step for the sides of a run before their parameter writes: the console reads
 * begin at once, in parallel with the writes. `finish` takes each side's applied changes,
 * checks ownership again on what landed, and records. Never throws.
 */
export function startHostKeys(deps: HostKeyDeps, sides: readonly { side: HostKeySide; changes: readonly ParameterChange[] }[], deadline: number | undefined) {
  const options = deps.hostKeys ?? {};
  const now = (options.now ?? Date.now)();
  const budget: Budget = { reads: options.maxReads ?? 10, writes: options.maxWrites ?? 10 };
  const candidates = sides.flatMap(({ side, changes }) => hostKeyCandidates(deps.config, side, changes));
  const inWindow = candidates.filter((c) => now - Date.parse(c.firstBoot) < HOST_KEY_WINDOW_MS);
  const late = candidates.filter((c) => !inWindow.includes(c));
  const timeLeft = () => deadline === undefined || deadline - Date.now() > MIN_TIME_MS;
  const toRead = timeLeft() ? inWindow.slice(0, Math.max(0, budget.reads)) : [];
  const reads = readConsoles(deps, toRead);

  return async function finish(applied: readonly (readonly ParameterChange[])[]): Promise<void> {
    try {
      // A console read that hangs must not hold the run past its deadline: what has not come back by then waits for the next look.
      let timer: NodeJS.Timeout | undefined;
      const found = deadline === undefined ? await reads : await Promise.race([reads, new Promise<Map<Candidate, HostKey[]>>((r) => (timer = setTimeout(() => r(new Map()), Math.max(0, deadline - Date.now() - MIN_TIME_MS))))]);
      clearTimeout(timer);
      const owned = new Map(sides.map(({ side }, i) => [side, after(side.parameters, applied[i] ?? [])]));
      const stillOwner = (c: Candidate) => owned.get(c.side)?.get(c.parameter.replace(/[^/]+$/, 'instance-id')) === c.instance.id;
      const records: { candidate: Candidate; record: HostKeyRecord }[] = [];
      for (const c of toRead) {
        const keys = found.get(c);
        if (keys && stillOwner(c)) records.push({ candidate: c, record: { instance: c.instance.id, source: 'console', recordedAt: new Date(now).toISOString(), keys } });
      }
      for (const c of late) if (stillOwner(c)) records.push({ candidate: c, record: { instance: c.instance.id, source: 'none', recordedAt: new Date(now).toISOString(), keys: [] } });
      const writing = timeLeft() ? records.slice(0, Math.max(0, budget.writes)) : [];
      await Promise.all(writing.map((r) => writeRecord(deps, r.candidate, r.record, deadline)));
    } catch (error) {
      deps.log.warn('host keys not recorded this time', { reason: errorMessage(error) });
    }
  };
}

/** The keys each candidate's console shows (absent: none yet, or the read failed and was logged). */
async function readConsoles(deps: HostKeyDeps, candidates: readonly Candidate[]): Promise<Map<Candidate, HostKey[]>> {
  const out = new Map<Candidate, HostKey[]>();
  const queue = [...candidates];
  let deniedLogged = false;
  const worker = async () => {
    for (let c = queue.shift(); c; c = queue.shift()) {
      try {
        const keys = parseConsoleHostKeys((await consoleOutput(c.side.ec2, c.instance.id)) ?? '');
        if (keys) out.set(c, keys);
        else deps.log.debug('no host keys on the console yet; looking again at its next sync', { instanceId: c.instance.id, name: c.name, ...where(c) });
      } catch (error) {
        const name = (error as { name?: string }).name ?? '';
        if (name === 'UnauthorizedOperation' || name === 'AccessDenied' || name === 'AccessDeniedException') {
          if (!deniedLogged) deps.log.warn('host keys not read: ec2:GetConsoleOutput is denied', { instanceId: c.instance.id, ...where(c), reason: `${errorMessage(error)}; give the ${c.side.spoke ? 'spoke role' : "function's role"} ec2:GetConsoleOutput on instances (the stack's template does)` });
          deniedLogged = true;
        } else {
          deps.log.warn('console output not read; looking again at its next sync', { instanceId: c.instance.id, name: c.name, ...where(c), reason: errorMessage(error) });
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, queue.length) }, worker));
  return out;
}

function where(c: Candidate): { account?: string; region?: string } {
  return c.side.spoke ? { account: c.side.spoke.account, region: c.side.spoke.region } : {};
}

/** Writes one record create-only; a record that appeared meanwhile is compared, never overwritten. */
async function writeRecord(deps: HostKeyDeps, c: Candidate, record: HostKeyRecord, deadline: number | undefined): Promise<void> {
  const value = formatHostKeyRecord(record);
  if (value === undefined) {
    deps.log.warn('host keys not recorded: they do not fit a 4 KB parameter', { instanceId: c.instance.id, name: c.name, parameter: c.parameter, ...where(c) });
    return;
  }
  const change: ParameterChange = { action: 'create', parameter: c.parameter, value, name: c.name, instanceIds: [c.instance.id] };
  const outcome = await applyParameters(c.side.ssm, [change], { ...(deadline ? { deadline } : {}), ...(c.side.pacer ? { pacer: c.side.pacer } : {}) });
  const failure = outcome.failed[0];
  const fields = { instanceId: c.instance.id, name: c.name, parameter: c.parameter, ...where(c) };
  if (!failure) {
    if (record.source === 'none') {
      deps.log.warn('host keys not recorded; gave up', {
        ...fields,
        reason: `no SSH host key block on its console in the ${HOST_KEY_WINDOW_MS / 60000} minutes after its first boot (${c.firstBoot}); cloud-init prints it at the first boot only. Read them with: ec2ip known-hosts --via ssm ${c.name}`,
      });
      deps.metrics.add('HostKeysGivenUp');
    } else {
      deps.log.info('host keys recorded', { ...fields, keys: record.keys.map((k) => `${k.type} ${fingerprint(k)}`) });
      deps.metrics.add('HostKeysRecorded');
    }
    return;
  }
  if ((failure.error as { name?: string }).name !== 'ParameterAlreadyExists') {
    deps.log.warn('host keys not recorded this time; looking again at its next sync', { ...fields, reason: errorMessage(failure.error) });
    return;
  }
  // Another invocation recorded first: the same keys are fine; different ones are loud.
  const existing = (await getParameters(c.side.ssm, [c.parameter])).get(c.parameter);
  const parsed = existing === undefined ? undefined : parseHostKeyRecord(existing);
  const theirs = parsed && 'record' in parsed ? parsed.record : undefined;
  if (record.source === 'none' || !theirs || theirs.instance !== record.instance || theirs.source === 'none' || sameKeys(theirs.keys, record.keys)) return;
  deps.log.error('HOST KEYS DIFFER: not stored', {
    ...fields,
    recorded: theirs.keys.map((k) => `${k.type} ${fingerprint(k)}`),
    console: record.keys.map((k) => `${k.type} ${fingerprint(k)}`),
    reason: `${c.parameter} records other host keys for ${c.instance.id} than its console shows now; the recorded ones are kept. Find out why before trusting either (a regenerated key, or someone writing to the console)`,
  });
  deps.metrics.add('HostKeysMismatch');
}
