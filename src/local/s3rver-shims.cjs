// Fills two gaps of s3rver that retention needs, inside s3rver's own Koa app (a middleware in
// front of its router), so everything else is s3rver's behaviour:
//
// - Bucket lifecycle configuration (PUT/GET/DELETE ?lifecycle), which s3rver answers with
//   NotImplemented. The configuration is checked like S3 checks it (well-formed XML, unique rule
//   ids, a filter and an action per rule, S3's limits on days) and kept as the XML the client
//   sent, in a file next to the bucket's other configurations, so it survives a restart of
//   `reservoir local up`. It is STORED, NEVER ENFORCED: nothing expires or changes storage
//   class on the emulator.
// - Object tags given with PutObject (the x-amz-tagging header), which s3rver ignores; and, as on
//   S3, a PutObject without the header leaves the object with no tags, and deleting an object
//   deletes its tags (s3rver kept them for the next object of that key). GetObjectTagging and
//   PutObjectTagging are s3rver's own.
//
// The shim runs before s3rver's authentication middleware (which, with
// allowMismatchedSignatures, checks nothing reservoir relies on).
'use strict';

const { Buffer } = require('node:buffer');
const fs = require('node:fs/promises');
const path = require('node:path');
const { URLSearchParams } = require('node:url');
const S3Error = require('s3rver/lib/models/error');
const { TaggingConfiguration } = require('s3rver/lib/models/config');
const xmlParser = require(require.resolve('fast-xml-parser', { paths: [require.resolve('s3rver')] }));

const LIFECYCLE_FILE = 'lifecycle.json';
const DEFAULT_MINIMUM_OBJECT_SIZE = 'all_storage_classes_128K';
const MIN_TRANSITION_DAYS = { STANDARD_IA: 30, ONEZONE_IA: 30 };
const ACTIONS = [
  'Expiration',
  'Transition',
  'NoncurrentVersionExpiration',
  'NoncurrentVersionTransition',
  'AbortIncompleteMultipartUpload',
];

function s3Error(code, message, status, detail) {
  const error = new S3Error(code, message, detail);
  if (status) {
    error.status = status;
    error.expose = status < 500;
  }
  return error;
}

const malformed = () =>
  s3Error(
    'MalformedXML',
    'The XML you provided was not well-formed or did not validate against our published schema',
  );

const asList = (value) => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** Throws the S3 error S3 would answer for this PutBucketLifecycleConfiguration body. */
function checkLifecycle(xml) {
  if (xmlParser.validate(xml) !== true) throw malformed();
  const root = xmlParser.parse(xml, { ignoreAttributes: true, parseNodeValue: true }).LifecycleConfiguration;
  if (!root || typeof root !== 'object') throw malformed();
  const rules = asList(root.Rule);
  if (rules.length === 0 || rules.length > 1000) throw malformed();
  const ids = new Set();
  for (const rule of rules) {
    if (!rule || typeof rule !== 'object') throw malformed();
    if (rule.Status !== 'Enabled' && rule.Status !== 'Disabled') throw malformed();
    if (rule.Filter === undefined && rule.Prefix === undefined) throw malformed();
    const id = rule.ID === undefined ? '' : String(rule.ID);
    if (id.length > 255) {
      throw s3Error('InvalidArgument', 'ID length should not exceed allowed limit of 255', 400);
    }
    if (id !== '' && ids.has(id)) {
      throw s3Error('InvalidArgument', 'Rule ID must be unique. Found same ID for more than one rule', 400);
    }
    ids.add(id);
    if (!ACTIONS.some((action) => rule[action] !== undefined)) {
      throw s3Error('InvalidRequest', 'At least one action needs to be specified in a rule', 400);
    }
    const expirationDays = rule.Expiration?.Days;
    for (const transition of asList(rule.Transition)) {
      const min = MIN_TRANSITION_DAYS[transition.StorageClass] ?? 0;
      if (typeof transition.Days === 'number' && transition.Days < min) {
        throw s3Error(
          'InvalidArgument',
          `'Days' for Transition action must be greater than or equal to ${min} for storageClass '${transition.StorageClass}'`,
          400,
        );
      }
      if (typeof expirationDays === 'number' && typeof transition.Days === 'number') {
        if (expirationDays <= transition.Days) {
          throw s3Error(
            'InvalidArgument',
            `'Days' in the Expiration action for filter must be greater than 'Days' in the Transition action`,
            400,
          );
        }
      }
    }
  }
}

const escapeXml = (text) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c],
  );

/** The x-amz-tagging header (URL-query encoded) as S3's Tagging XML; throws InvalidTag like S3. */
function taggingXml(header) {
  const tags = [...new URLSearchParams(header)];
  const invalid = (message) => s3Error('InvalidTag', message, 400);
  if (tags.length > 10) throw invalid('Object tags cannot be greater than 10');
  const keys = new Set();
  for (const [key, value] of tags) {
    if (key.length === 0 || key.length > 128) throw invalid('The TagKey you have provided is invalid');
    if (value.length > 256) throw invalid('The TagValue you have provided is invalid');
    if (keys.has(key)) throw invalid('Cannot provide multiple Tags with the same key');
    keys.add(key);
  }
  const items = tags
    .map(([key, value]) => `<Tag><Key>${escapeXml(key)}</Key><Value>${escapeXml(value)}</Value></Tag>`)
    .join('');
  return `<Tagging><TagSet>${items}</TagSet></Tagging>`;
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** Installs the shims into an S3rver instance; call before `run()`. */
function installS3rverShims(server) {
  const store = server.store;

  const deleteObject = store.deleteObject.bind(store);
  store.deleteObject = async (bucket, key) => {
    await deleteObject(bucket, key);
    await store.deleteSubresource(bucket, key, 'tagging');
  };

  async function lifecycle(ctx, bucket) {
    if (!(await store.getBucket(bucket))) {
      throw s3Error('NoSuchBucket', 'The specified bucket does not exist', undefined, { BucketName: bucket });
    }
    const file = store.getResourcePath(bucket, undefined, LIFECYCLE_FILE);
    switch (ctx.method) {
      case 'GET': {
        let stored;
        try {
          stored = JSON.parse(await fs.readFile(file, 'utf8'));
        } catch (error) {
          if (error.code !== 'ENOENT') throw error;
          throw s3Error('NoSuchLifecycleConfiguration', 'The lifecycle configuration does not exist', 404, {
            BucketName: bucket,
          });
        }
        ctx.set('x-amz-transition-default-minimum-object-size', stored.transitionDefaultMinimumObjectSize);
        ctx.type = 'application/xml';
        ctx.body = stored.xml;
        return;
      }
      case 'PUT': {
        const xml = await readBody(ctx.req);
        checkLifecycle(xml);
        const transitionDefaultMinimumObjectSize =
          ctx.get('x-amz-transition-default-minimum-object-size') || DEFAULT_MINIMUM_OBJECT_SIZE;
        await fs.mkdir(path.dirname(file), { recursive: true });
        await fs.writeFile(file, JSON.stringify({ xml, transitionDefaultMinimumObjectSize }));
        ctx.set('x-amz-transition-default-minimum-object-size', transitionDefaultMinimumObjectSize);
        ctx.status = 200;
        ctx.body = '';
        return;
      }
      case 'DELETE':
        await fs.rm(file, { force: true });
        ctx.status = 204;
        return;
      default:
        throw s3Error('MethodNotAllowed', 'The specified method is not allowed against this resource.');
    }
  }

  async function shim(ctx, next) {
    const [, bucket = '', ...rest] = ctx.path.split('/');
    let key;
    try {
      key = decodeURIComponent(rest.join('/'));
    } catch {
      return next(); // s3rver answers malformed paths itself
    }
    if (bucket && key === '' && 'lifecycle' in ctx.query) return lifecycle(ctx, bucket);

    // A plain PutObject (the SDK adds ?x-id=PutObject): not a copy, part, or subresource.
    const subresources = Object.keys(ctx.query).filter((name) => name !== 'x-id');
    if (
      ctx.method !== 'PUT' ||
      !bucket ||
      key === '' ||
      subresources.length > 0 ||
      'x-amz-copy-source' in ctx.headers
    ) {
      return next();
    }
    const header = ctx.get('x-amz-tagging');
    const tagging = header ? new TaggingConfiguration(taggingXml(header)) : null;
    await next();
    if (ctx.status !== 200) return;
    if (tagging) await store.putSubresource(bucket, key, tagging);
    else await store.deleteSubresource(bucket, key, 'tagging');
  }

  // s3rver's router is its last middleware: the shim goes just before it.
  server.middleware.splice(server.middleware.length - 1, 0, shim);
}

module.exports = { installS3rverShims };
