import '../../src/local/polyfills';

// The SDK warns once on Node 20 (supported by the pinned versions); Lambda runs Node 22.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
// Handlers log their failures as JSON at ERROR; tests that expect a failure assert on it instead
// of printing it (tests that check the logs set their own level).
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
