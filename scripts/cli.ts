#!/usr/bin/env node
// The only place that ends the process: every command returns its exit code.
import { processIo } from './cli/io.js';
import { main } from './cli/main.js';

// The bundle sets this in its banner, before any SDK code (scripts/esbuild/options.mjs); the
// source run directly needs it too. The SDK reads it when a client is created, after this line.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

process.exitCode = await main(process.argv.slice(2), processIo());
