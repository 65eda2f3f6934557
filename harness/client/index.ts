export { ApiResult, CandidateClient, ClientApiError, type WaitForSyncOptions } from './client.ts';
export * from './types.ts';
