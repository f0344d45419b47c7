// The Glue Data Catalog tables and the Athena names, resolved when serverless.yml is packaged:
//
//   TableInput: ${file(./deploy/athena.cjs):jsonlTable}
//
// from src/athena/catalog.ts, the module that also writes the Athena `records` view: the tables'
// columns come from the record line's fields and the records view's columns (src/sql/records-view.ts).
// Locations are Fn::Sub strings over the archive bucket and ArchivePrefix.
'use strict';

const { require: tsxRequire } = require('tsx/cjs/api');

const catalog = tsxRequire('../src/athena/catalog.ts', module.filename);

const location = (dir) => `s3://\${ArchiveBucket}/\${ArchivePrefix}${dir}/`;

function table(kind, dir) {
  const input = catalog.tableInput(kind, location(dir), { forSub: true });
  input.StorageDescriptor.Location = { 'Fn::Sub': input.StorageDescriptor.Location };
  input.Parameters['storage.location.template'] = {
    'Fn::Sub': input.Parameters['storage.location.template'],
  };
  return input;
}

module.exports = {
  databaseName: async ({ resolveVariable }) =>
    catalog.databaseName(String(await resolveVariable('sls:stage'))),
  workGroupName: async ({ resolveVariable }) =>
    catalog.workGroupName(String(await resolveVariable('sls:stage'))),
  jsonlTable: () => table('jsonl', 'archive'),
  columnarTable: () => table('columnar', 'columnar'),
  resultsDir: () => catalog.ATHENA_RESULTS_DIR,
};
