/**
 * Setup file of the `unit` project: registers the aws-sdk-client-mock matchers
 * (toHaveReceivedCommandWith, toReceiveCommandTimes, …) on vitest's expect.
 * The `/extend` entry calls expect.extend(allCustomMatcherWithAliases) and,
 * with moduleResolution NodeNext, also brings the `Matchers` type augmentation.
 */
import 'aws-sdk-client-mock-vitest/extend';
