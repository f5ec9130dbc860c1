#!/usr/bin/env node
// `pnpm parity …` (pnpm runs a workspace bin when no script has the name): tools/run-cli.mjs parity …
process.argv.splice(2, 0, 'parity');
await import('../run-cli.mjs');
