// kinesis-reservoir/producer: the producer library, published on its own as
// kinesis-reservoir-producer (packages/producer/, built from src/producer/). A subpath of the
// main package for code that already depends on it.
'use strict';
module.exports = require('kinesis-reservoir-producer');
