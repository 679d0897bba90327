#!/usr/bin/env node
// The only place that ends the process: every command returns its exit code.
import { processIo } from './cli/io.js';
import { main } from './cli/main.js';

process.exitCode = await main(process.argv.slice(2), processIo());
