// aws-kinesis-agg exports RecordAggregator but its typings leave it out.
import 'aws-kinesis-agg';

declare module 'aws-kinesis-agg' {
  export class RecordAggregator {
    constructor(onReady: (error: Error | null, encoded?: { partitionKey: string; data: Buffer }) => void);
    aggregateRecords(records: { partitionKey: string; data: Buffer }[], forceFlush: boolean): void;
  }
}
