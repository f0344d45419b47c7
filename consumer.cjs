// kinesis-reservoir/consumer: the consumer library, published on its own as
// kinesis-reservoir-consumer (packages/consumer/, built from src/consumer/). Kept as a subpath of
// the main package for code that already imports it from here.
'use strict';
module.exports = require('kinesis-reservoir-consumer');
