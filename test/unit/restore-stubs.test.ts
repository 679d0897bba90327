import { EC2Client } from '@aws-sdk/client-ec2';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { restoreClientStubs } from '../support/restore-stubs.js';

// setup-unit.ts calls this after every unit file: the files share one module cache, so a stub
// left on a client's prototype would answer the next file's calls.
describe('restoreClientStubs', () => {
  it("puts back the send of every class mockClient stubbed, as the SDK defined it", () => {
    const ssm = SSMClient.prototype.send;
    const ec2 = EC2Client.prototype.send;
    mockClient(SSMClient).on(GetParameterCommand).resolves({});
    mockClient(EC2Client);
    expect(SSMClient.prototype.send).not.toBe(ssm);
    expect(EC2Client.prototype.send).not.toBe(ec2);

    restoreClientStubs();

    expect(SSMClient.prototype.send).toBe(ssm);
    expect(EC2Client.prototype.send).toBe(ec2);
  });
});
