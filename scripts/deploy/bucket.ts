/**
 * The artifact bucket: Lambda takes its code from a bucket in the function's own region.
 * Objects are content-addressed (`ec2ip/<sha256>.zip`), so an unchanged build uploads nothing.
 */
import {
  CreateBucketCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutBucketEncryptionCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  type BucketLocationConstraint,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { explainAwsError } from '../cli/aws-errors.js';
import { CliError, EXIT, UsageError } from '../cli/errors.js';

/** The default bucket: one per account and region (bucket names are global). */
export function defaultBucketName(account: string, region: string): string {
  return `ec2ip-artifacts-${account}-${region}`;
}

/** S3's rules for a bucket name (the template's CodeS3Bucket pattern is a subset of them). */
export function checkBucketName(name: string): void {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) || name.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(name)) {
    throw new UsageError(`--bucket ${name} is not a valid S3 bucket name (3-63 of a-z 0-9 . -, starting and ending with a letter or digit)`);
  }
}

export function codeKey(sha256: string): string {
  return `ec2ip/${sha256}.zip`;
}

const status = (e: unknown) => (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
const errorName = (e: unknown) => (e as { name?: string })?.name ?? '';

export type BucketState = 'exists' | 'missing';

export async function bucketState(s3: S3Client, bucket: string): Promise<BucketState> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return 'exists';
  } catch (error) {
    if (status(error) === 404 || errorName(error) === 'NotFound' || errorName(error) === 'NoSuchBucket') return 'missing';
    if (status(error) === 403) {
      throw new CliError(`the bucket ${bucket} exists but you cannot use it (it belongs to another account, or you lack s3:ListBucket): pass --bucket NAME`, EXIT.failed, { cause: error });
    }
    if (status(error) === 301) {
      throw new CliError(`the bucket ${bucket} is in another region; Lambda needs its code in the stack's region: pass --bucket NAME of a bucket in this region`, EXIT.failed, { cause: error });
    }
    throw explainAwsError(error, `checking the bucket ${bucket}`);
  }
}

/**
 * Creates the bucket in `region`: no public access, default encryption (SSE-S3), and a
 * policy refusing plain-http requests (unless `tlsOnly` is false: the endpoint itself is http).
 * Returns what it did, one line each.
 */
export async function createBucket(
  s3: S3Client,
  bucket: string,
  region: string,
  { partition = 'aws', tlsOnly = true }: { partition?: string; tlsOnly?: boolean } = {},
): Promise<string[]> {
  try {
    await s3.send(
      new CreateBucketCommand({
        Bucket: bucket,
        // us-east-1 is the one region that must not be named.
        ...(region === 'us-east-1' ? {} : { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } }),
      }),
    );
  } catch (error) {
    if (errorName(error) === 'BucketAlreadyExists') {
      throw new CliError(`the bucket name ${bucket} is taken by another account: pass --bucket NAME`, EXIT.failed, { cause: error });
    }
    if (errorName(error) !== 'BucketAlreadyOwnedByYou') throw explainAwsError(error, `creating the bucket ${bucket} in ${region}`);
  }
  const done = [`created s3://${bucket} in ${region}`];
  const harden = async (what: string, send: () => Promise<unknown>) => {
    try {
      await send();
      done.push(what);
    } catch (error) {
      throw explainAwsError(error, `configuring the new bucket ${bucket} (${what})`);
    }
  };
  await harden('public access blocked', () =>
    s3.send(
      new PutPublicAccessBlockCommand({
        Bucket: bucket,
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true },
      }),
    ),
  );
  await harden('default encryption SSE-S3', () =>
    s3.send(
      new PutBucketEncryptionCommand({
        Bucket: bucket,
        ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      }),
    ),
  );
  if (!tlsOnly) {
    done.push('no TLS-only bucket policy (the S3 endpoint is plain http)');
    return done;
  }
  await harden('TLS-only bucket policy', () =>
    s3.send(
      new PutBucketPolicyCommand({
        Bucket: bucket,
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'DenyInsecureTransport',
              Effect: 'Deny',
              Principal: '*',
              Action: 's3:*',
              Resource: [`arn:${partition}:s3:::${bucket}`, `arn:${partition}:s3:::${bucket}/*`],
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            },
          ],
        }),
      }),
    ),
  );
  return done;
}

export async function objectExists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (error) {
    if (status(error) === 404 || errorName(error) === 'NotFound' || errorName(error) === 'NoSuchKey') return false;
    throw explainAwsError(error, `checking s3://${bucket}/${key}`);
  }
}

export async function upload(s3: S3Client, bucket: string, key: string, body: Buffer): Promise<void> {
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: body,
        ContentType: 'application/zip',
        ContentMD5: createHash('md5').update(body).digest('base64'),
      }),
    );
  } catch (error) {
    throw explainAwsError(error, `uploading s3://${bucket}/${key}`);
  }
}
