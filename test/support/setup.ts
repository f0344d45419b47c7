import '../../src/local/polyfills';

// The SDK warns once on Node 20 (supported by the pinned versions); Lambda runs Node 22.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
