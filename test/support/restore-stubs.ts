/**
 * Puts back every SDK client's `send` that aws-sdk-client-mock stubbed. `mockClient(Class)`
 * stubs the class's `send` in sinon's default sandbox, so that sandbox's `restore()` undoes every
 * stub at once; the sinon is the one aws-sdk-client-mock itself resolves, not a copy of ours.
 */
import { createRequire } from 'node:module';

const fromClientMock = createRequire(createRequire(import.meta.url).resolve('aws-sdk-client-mock'));
const sinon = fromClientMock('sinon') as { restore(): void };

export function restoreClientStubs(): void {
  sinon.restore();
}
