/**
 * fast-check arbitraries of malformed Lambda input (SPEC "What each input gets": not JSON,
 * missing or mistyped fields, unknown state) and of good items to mix them with. Every
 * arbitrary yields `{ body, why }`: the SQS body (a string is sent verbatim) and the case.
 */
import fc from 'fast-check';
import { eventTime, stateChangeEvent, tagChangeEvent } from './events.js';

export interface Item {
  body: unknown;
  why: string;
}

/** Prints an item briefly in fast-check's reports (bodies can be 300,000 characters). */
export function brief<T extends Item>(item: T): T {
  return Object.assign(item, {
    [fc.toStringMethod]: () => {
      const text = typeof item.body === 'string' ? item.body : JSON.stringify(item.body);
      return `${item.why}: ${text.length > 300 ? `${text.slice(0, 300)}… (${text.length} characters)` : text}`;
    },
  });
}

const STATES = ['pending', 'running', 'stopping', 'stopped', 'shutting-down', 'terminated'];
const huge = (n: number) => fc.constantFrom('x', 'i-', '0', 'é', '\u0000').map((s) => s.repeat(Math.ceil(n / s.length)));

/** A JSON value that is not a string (a mistyped field). */
const notAString = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null), fc.array(fc.jsonValue(), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue(), { maxKeys: 3 }));

/** Strings that are not an instance id. */
const notAnId = fc.oneof(
  fc.constantFrom('', 'i-', 'i', 'I-0123456789ABCDEF0', 'i-0123456789abcdef0 ', ' i-0123456789abcdef0', 'i-../../x', 'i-0123\n456', 'i-ünïcode', 'vol-0123456789abcdef0', 'arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0'),
  fc.string({ maxLength: 30 }).filter((s) => !/^i-[0-9a-z]{1,40}$/.test(s)),
  huge(300_000).map((s) => `i-${s}`),
  fc.integer({ min: 41, max: 2000 }).map((n) => `i-${'a'.repeat(n)}`),
);

/** Strings that are not an EC2 state. */
const notAState = fc.oneof(
  fc.constantFrom('', 'rebooting', 'RUNNING', 'Running', 'running ', 'stop', 'unknown', 'null'),
  fc.string({ maxLength: 20 }).filter((s) => !STATES.includes(s)),
  huge(200_000),
);

/** Strings Date.parse refuses. */
const notATime = fc.oneof(fc.constantFrom('', 'yesterday', 'not a time', '2021-13-45T99:99:99Z'), huge(100_000)).filter((s) => Number.isNaN(Date.parse(s)));

const ID = 'i-0badbadbadbadbad0';

function stateEvent(id = ID, state = 'running'): Record<string, any> {
  return stateChangeEvent(id, state, { time: eventTime() }) as unknown as Record<string, any>;
}

/**
 * A malformed item about instance `id` (an instance that exists and is tagged, so a
 * handler that wrongly accepted it would write).
 */
export function malformedItem(id = ID): fc.Arbitrary<Item> {
  const withEvent = (why: string, change: (e: Record<string, any>) => void) => fc.constant(null).map(() => {
    const e = stateEvent(id);
    change(e);
    return { body: e, why };
  });
  const items: fc.Arbitrary<Item> = fc.oneof(
    // Not JSON at all.
    fc.oneof(
      fc.constantFrom('', '{', 'this is not JSON {', '{"source": "aws.ec2",', "{'source': 'aws.ec2'}", 'undefined', 'NaN', '<xml/>'),
      fc.string({ maxLength: 40 }).filter((s) => !isJson(s)),
      huge(250_000).map((s) => `{${s}`),
    ).map((body) => ({ body, why: 'not JSON' })),
    // JSON that is not an event object.
    fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.string({ maxLength: 30 }), fc.array(fc.jsonValue(), { maxLength: 4 }), fc.constant(JSON.stringify(stateEvent(id))))
      .map((v) => ({ body: JSON.stringify(v), why: 'JSON, but not an object' })),
    // Missing or mistyped envelope fields.
    notAString.chain((bad) => fc.constantFrom('source', 'detail-type').map((field) => ({ bad, field }))).map(({ bad, field }) => {
      const e = stateEvent(id);
      e[field] = bad;
      return { body: e, why: `${field} mistyped` };
    }),
    fc.constantFrom('source', 'detail-type', 'detail', 'time').chain((field) => withEvent(`${field} missing`, (e) => delete e[field])),
    notAString.filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)).map((bad) => {
      const e = stateEvent(id);
      e.detail = bad;
      return { body: e, why: 'detail not an object' };
    }),
    // The instance id.
    withEvent('instance-id missing', (e) => delete e.detail['instance-id']),
    withEvent('the instance_id variant', (e) => {
      e.detail = { instance_id: id, state: e.detail.state };
    }),
    fc.oneof(notAString, notAnId).map((bad) => {
      const e = stateEvent(id);
      e.detail['instance-id'] = bad;
      return { body: e, why: 'instance-id not an instance id' };
    }),
    // The state.
    withEvent('state missing', (e) => delete e.detail.state),
    fc.oneof(notAString, notAState).map((bad) => {
      const e = stateEvent(id);
      e.detail.state = bad;
      return { body: e, why: 'unknown or mistyped state' };
    }),
    // The time.
    fc.oneof(notAString, notATime).map((bad) => {
      const e = stateEvent(id);
      e.time = bad;
      return { body: e, why: 'time not a time' };
    }),
    // A tag change of an instance whose resource is unreadable.
    fc.oneof(notAString, fc.constant([]), fc.constantFrom('arn:aws:ec2:us-east-1:123456789012:instance/', `arn:aws:s3:::bucket/${id}`, id, `arn:aws:ec2:us-east-1:123456789012:instance/${id}/x`).map((s) => [s])).map((bad) => {
      const e = tagChangeEvent(id, { 'ec2ip:name': 'bad' }, ['ec2ip:name']) as unknown as Record<string, any>;
      e.resources = bad;
      return { body: e, why: 'tag change without an instance ARN' };
    }),
  );
  return items.map(brief);
}

/** Whether `s` parses as JSON. */
export function isJson(s: string): boolean {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}

/** A valid state-change or tag-change event for one of `ids`. */
export function goodItem(ids: readonly string[], states: readonly string[] = ['running']): fc.Arbitrary<Item & { id: string }> {
  return fc.tuple(fc.constantFrom(...ids), fc.constantFrom(...states), fc.boolean()).map(([id, state, tag]) =>
    brief(tag ? { id, body: tagChangeEvent(id, { 'ec2ip:name': 'x' }, ['ec2ip:name']), why: 'good tag change' } : { id, body: stateChangeEvent(id, state), why: `good ${state} event` }),
  );
}

/** Valid events ec2ip does not handle: acknowledged, no write. */
export const ignoredItem: fc.Arbitrary<Item> = fc.oneof(
  fc.constant({ body: { ...stateChangeEvent(ID, 'running'), source: 'aws.s3' }, why: 'another source' }),
  fc.constant({ body: { ...stateChangeEvent(ID, 'running'), 'detail-type': 'AWS API Call via CloudTrail' }, why: 'another detail-type' }),
  fc.constant({ body: tagChangeEvent('vol-0123456789abcdef0', { 'ec2ip:name': 'bad' }, ['ec2ip:name'], { resourceType: 'volume' }), why: 'a volume tag change' }),
).map((i) => brief({ ...i }));

export const MALFORMED_ID = ID;
