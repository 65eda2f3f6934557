export { ApiResult, CandidateClient, ClientApiError, type WaitForSyncOptions } from './client.ts';
export * from './types.ts';
export { signedDeviceKeys } from './device-keys.ts';
export { CLIENT_REQUEST_KINDS, ClientRequestError, checkClientRequest, type ClientRequestKind } from './requests.ts';
