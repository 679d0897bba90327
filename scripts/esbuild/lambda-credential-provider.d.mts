import type { AwsCredentialIdentity, AwsCredentialIdentityProvider, Logger } from '@smithy/types';

export declare const defaultProvider: (init?: { logger?: Logger }) => AwsCredentialIdentityProvider;
export declare const credentialsWillNeedRefresh: (credentials?: AwsCredentialIdentity) => boolean;
export declare const credentialsTreatedAsExpired: (credentials?: AwsCredentialIdentity) => boolean;
