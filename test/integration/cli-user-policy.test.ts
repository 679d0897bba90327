/**
 * The person's policy: the CLI's reading commands, run as a user with infra/user-policy.json
 * (the policy the README documents), make only calls that policy allows (test/support/iam-audit.ts).
 * The instances are published by the built Lambda first; its calls are its role's, audited in
 * the Lambda's own tests, and are left out here.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { createZone, runInstance, useMoto } from '../support/moto.js';
import { cli, publish } from '../support/cli.js';
import { useIamAudit } from '../support/iam-audit.js';

describe('the CLI with the README user policy', () => {
  useMoto();
  const audit = useIamAudit('cli');
  let env: Record<string, string>;

  beforeEach(async () => {
    const [publicZone, privateZone] = await Promise.all([createZone('example.com'), createZone('internal.example', { private: true })]);
    const ids = await Promise.all([runInstance({ tags: { 'ec2ip:name': 'web' } }), runInstance({ tags: { 'ec2ip:name': 'db' } })]);
    await publish({ publicZone, privateZone }, ids);
    env = { HOSTED_ZONE_ID: publicZone, PRIVATE_HOSTED_ZONE_ID: privateZone };
  });

  it.each([[['get', 'web']], [['get', 'db', '--field', 'instance-id']], [['list']], [['list', '--json']], [['ssh-config', '--user', 'ec2-user']]])('ec2ip %j needs nothing more', async (args) => {
    audit.reset();
    const ran = await cli(args, env);
    expect(ran.code, ran.stderr).toBe(0);
    expect(audit.pending.length).toBeGreaterThan(0);
  });
});
