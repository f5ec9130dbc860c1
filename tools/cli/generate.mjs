#!/usr/bin/env node
// `pnpm generate …` (pnpm runs a workspace bin when no script has the name): tools/run-cli.mjs generate …
process.argv.splice(2, 0, 'generate');
await import('../run-cli.mjs');
