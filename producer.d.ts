// Types of kinesis-reservoir/producer: those of kinesis-reservoir-producer (see producer.cjs).
export * from 'kinesis-reservoir-producer';
