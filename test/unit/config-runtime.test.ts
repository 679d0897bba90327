/**
 * readRuntime, readLogLevel and readTestPublishGraceMs at their edges: each accepted value
 * comes back exactly, each refused one with the message that names the variable and the
 * value (the cases `npm run mutate` found unchecked by the pure config tests).
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_PUT_PARAMETER_RATE, DEFAULT_REQUEST_TIMEOUT_MS, readLogLevel, readRuntime, readTestPublishGraceMs } from '../../functions/core/config.js';
import { ConfigError } from '../../functions/core/errors.js';

describe('readRuntime', () => {
  it('gives the defaults when nothing (or only blanks) is set', () => {
    expect(readRuntime({})).toEqual({ requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS, putParameterRate: DEFAULT_PUT_PARAMETER_RATE });
    expect(readRuntime({ EC2IP_REQUEST_TIMEOUT_MS: '  ', EC2IP_PUT_PARAMETER_RATE: '' })).toEqual({ requestTimeoutMs: 5000, putParameterRate: 3 });
  });

  it.each([
    ['1', 1],
    ['2147483647', 2147483647],
    [' 250 ', 250],
  ])('accepts EC2IP_REQUEST_TIMEOUT_MS=%j as %d', (text, ms) => {
    expect(readRuntime({ EC2IP_REQUEST_TIMEOUT_MS: text }).requestTimeoutMs).toBe(ms);
  });

  it.each(['0', '2147483648', '-5', '1.5', '5s', '1e3', 'x5000'])('refuses EC2IP_REQUEST_TIMEOUT_MS=%j naming it', (text) => {
    expect(() => readRuntime({ EC2IP_REQUEST_TIMEOUT_MS: text })).toThrow(ConfigError);
    expect(() => readRuntime({ EC2IP_REQUEST_TIMEOUT_MS: text })).toThrow(`EC2IP_REQUEST_TIMEOUT_MS="${text}" is not a timeout: give a whole number of milliseconds from 1, e.g. 5000`);
  });

  it.each([
    ['1', 1],
    ['1.5', 1.5],
    ['0.1', 0.1],
    ['40', 40],
  ])('accepts EC2IP_PUT_PARAMETER_RATE=%j as %d', (text, rate) => {
    expect(readRuntime({ EC2IP_PUT_PARAMETER_RATE: text }).putParameterRate).toBe(rate);
  });

  it.each(['0', '0.0', '-1', '1.', '.5', 'fast', '1,5', 'x1', '1x'])('refuses EC2IP_PUT_PARAMETER_RATE=%j naming it', (text) => {
    expect(() => readRuntime({ EC2IP_PUT_PARAMETER_RATE: text })).toThrow(ConfigError);
    expect(() => readRuntime({ EC2IP_PUT_PARAMETER_RATE: text })).toThrow(
      `EC2IP_PUT_PARAMETER_RATE="${text}" is not a rate: give PutParameter calls per second, a number above 0 such as 3 or 1.5 (more with SSM's higher throughput setting)`,
    );
  });
});

describe('readLogLevel', () => {
  it.each([
    [{}, 'INFO'],
    [{ LOG_LEVEL: 'debug' }, 'DEBUG'],
    [{ LOG_LEVEL: 'INFO' }, 'INFO'],
    [{ LOG_LEVEL: 'Warn' }, 'WARN'],
    [{ LOG_LEVEL: 'error' }, 'ERROR'],
    [{ LOG_LEVEL: ' ' }, 'INFO'],
    [{ LOG_LEVEL: 'warn', AWS_LAMBDA_LOG_LEVEL: 'DEBUG' }, 'WARN'],
    [{ AWS_LAMBDA_LOG_LEVEL: 'TRACE' }, 'DEBUG'],
    [{ AWS_LAMBDA_LOG_LEVEL: 'DEBUG' }, 'DEBUG'],
    [{ AWS_LAMBDA_LOG_LEVEL: 'info' }, 'INFO'],
    [{ AWS_LAMBDA_LOG_LEVEL: 'WARN' }, 'WARN'],
    [{ AWS_LAMBDA_LOG_LEVEL: 'ERROR' }, 'ERROR'],
    [{ AWS_LAMBDA_LOG_LEVEL: 'FATAL' }, 'ERROR'],
  ])('reads %j as %s', (env, level) => {
    expect(readLogLevel(env)).toBe(level);
  });

  it('refuses a LOG_LEVEL it does not know, naming the value and the levels', () => {
    expect(() => readLogLevel({ LOG_LEVEL: 'verbose' })).toThrow(ConfigError);
    expect(() => readLogLevel({ LOG_LEVEL: 'verbose' })).toThrow('LOG_LEVEL="verbose" is not a log level: use DEBUG, INFO, WARN or ERROR');
    expect(() => readLogLevel({ LOG_LEVEL: 'TRACE' })).toThrow('LOG_LEVEL="TRACE" is not a log level');
  });

  it('refuses an AWS_LAMBDA_LOG_LEVEL Lambda does not set', () => {
    expect(() => readLogLevel({ AWS_LAMBDA_LOG_LEVEL: 'verbose' })).toThrow(ConfigError);
    expect(() => readLogLevel({ AWS_LAMBDA_LOG_LEVEL: 'verbose' })).toThrow('AWS_LAMBDA_LOG_LEVEL="verbose" is not a log level: Lambda sets TRACE, DEBUG, INFO, WARN, ERROR or FATAL (or set LOG_LEVEL instead)');
    expect(() => readLogLevel({ AWS_LAMBDA_LOG_LEVEL: 'constructor' })).toThrow('AWS_LAMBDA_LOG_LEVEL="constructor" is not a log level');
  });
});

describe('readTestPublishGraceMs', () => {
  it('is undefined unless set, and the number of milliseconds when it is', () => {
    expect(readTestPublishGraceMs({})).toBeUndefined();
    expect(readTestPublishGraceMs({ EC2IP_TEST_ONLY_PUBLISH_GRACE_MS: ' ' })).toBeUndefined();
    expect(readTestPublishGraceMs({ EC2IP_TEST_ONLY_PUBLISH_GRACE_MS: '1' })).toBe(1);
    expect(readTestPublishGraceMs({ EC2IP_TEST_ONLY_PUBLISH_GRACE_MS: '1500' })).toBe(1500);
  });

  it.each(['0', '-1', '1.5', '2s', 'x1'])('refuses %j naming the variable', (text) => {
    expect(() => readTestPublishGraceMs({ EC2IP_TEST_ONLY_PUBLISH_GRACE_MS: text })).toThrow(ConfigError);
    expect(() => readTestPublishGraceMs({ EC2IP_TEST_ONLY_PUBLISH_GRACE_MS: text })).toThrow(
      `EC2IP_TEST_ONLY_PUBLISH_GRACE_MS="${text}" is not a wait: give a whole number of milliseconds from 1 (tests only; unset it otherwise)`,
    );
  });
});
