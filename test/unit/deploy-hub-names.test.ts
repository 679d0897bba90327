/** `ec2ip deploy --hub --spoke-names`: validated like the Lambda reads SPOKE_NAMES, and the warning a hub without it gets. */
import { describe, expect, it } from 'vitest';
import { hubParametersFromFlags, hubWarnings } from '../../scripts/deploy/hub-parameters.js';

describe('deploy --hub and the names of member accounts', () => {
  it('passes --spoke-names to the SpokeNames parameter', () => {
    expect(hubParametersFromFlags({ 'spoke-names': '111111111111:*.dev,222222222222:web|api' }, {})).toMatchObject({ SpokeNames: '111111111111:*.dev,222222222222:web|api' });
  });

  it('refuses a bad --spoke-names before deploying anything, quoting it', () => {
    expect(() => hubParametersFromFlags({ 'spoke-names': '111111111111:Web' }, {})).toThrow('--spoke-names: SPOKE_NAMES="111111111111:Web"');
    expect(() => hubParametersFromFlags({ 'spoke-names': 'web' }, {})).toThrow(/--spoke-names: .*each entry is <12-digit account>/);
  });

  it.each([
    [{ NameTemplate: '{name}', SpokeNames: '' }, 1],
    [{ NameTemplate: '', SpokeNames: '' }, 1],
    [{ NameTemplate: '{name}.{region}', SpokeNames: '' }, 1],
    [{ NameTemplate: '{name}', SpokeNames: '111111111111:*.dev' }, 0],
    [{ NameTemplate: '{name}.{account}', SpokeNames: '' }, 0],
    [{ NameTemplate: '{name}.{account-alias}', SpokeNames: '' }, 0],
  ])('warns %j: %i warning(s)', (parameters, count) => {
    const warnings = hubWarnings(parameters);
    expect(warnings).toHaveLength(count);
    for (const w of warnings) expect(w).toContain('every member account can claim every free name');
  });
});
