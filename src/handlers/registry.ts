import type { Context } from 'aws-lambda';

export type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>;

/**
 * The Lambda functions of serverless.yml by name, as the ASL files reference them
 * (`Fn::GetAtt: [name, Arn]`). The local runner binds each Task to these same handlers.
 */
export const handlerModules: Record<string, () => Promise<{ handler: LambdaHandler }>> = {
  discoverStreams: () => import('./discover-streams') as Promise<{ handler: LambdaHandler }>,
  planShards: () => import('./plan-shards') as Promise<{ handler: LambdaHandler }>,
  loadShardPage: () => import('./load-shard-page') as Promise<{ handler: LambdaHandler }>,
  archiveShard: () => import('./archive-shard') as Promise<{ handler: LambdaHandler }>,
  recordShardResult: () => import('./record-shard-result') as Promise<{ handler: LambdaHandler }>,
  summarizeArchive: () => import('./summarize-archive') as Promise<{ handler: LambdaHandler }>,
};
