// Types of kinesis-reservoir/consumer: those of kinesis-reservoir-consumer (see consumer.cjs).
export * from 'kinesis-reservoir-consumer';
