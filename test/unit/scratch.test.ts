import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { removeStaleScratch } from '../../scripts/package/scratch.mjs';
import { tempFolder } from '../support/temp.js';

describe('removeStaleScratch', () => {
  it('removes the scratch folders of processes that are gone and keeps every other entry', () => {
    const tmp = tempFolder('sweep');
    // A process that has ended: its pid is free (and not reused within the test).
    const dead = spawnSync('true').pid;
    // The vitest that runs this worker: alive while the test runs.
    const live = process.ppid;
    const names = [`ec2ip-exe-${dead}-a1B2c3`, `ec2ip-cli-${live}-d4E5f6`, `ec2ip-cli-${process.pid}-g7H8i9`, 'ec2ip-notes', `other-${dead}-a1B2c3`];
    for (const name of names) mkdirSync(join(tmp, name));
    expect(removeStaleScratch(tmp)).toEqual([join(tmp, `ec2ip-exe-${dead}-a1B2c3`)]);
    expect(readdirSync(tmp).sort()).toEqual(names.slice(1).sort());
  });
});
