/** spokeNamePatternProblem on the patterns SPOKE_NAMES allows: `*` alone means any name. */
import { describe, expect, it } from 'vitest';
import { spokeNamePatternProblem } from '../../functions/core/names.js';

describe('spokeNamePatternProblem', () => {
  it.each(['*', '*.dev', 'web', 'web.dev'])('accepts %j', (pattern) => {
    expect(spokeNamePatternProblem(pattern)).toBeUndefined();
  });

  it.each(['**', '*.', 'a_b', '*web'])('refuses %j with a reason', (pattern) => {
    expect(spokeNamePatternProblem(pattern)).toMatch(/\S/);
  });
});
