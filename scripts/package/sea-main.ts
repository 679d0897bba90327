// The entry of the single-file executables (scripts/package/build-exe.mjs): scripts/cli.ts
// without its top-level await, which a CommonJS bundle cannot hold. Still the only place
// that ends the process.
import { processIo } from '../cli/io.js';
import { main } from '../cli/main.js';

void main(process.argv.slice(2), processIo()).then((code) => {
  process.exitCode = code;
});
