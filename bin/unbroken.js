#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx, so there is no build step to forget.
'use strict';
require('tsx/cjs');
const { main } = require('../cli/main.ts');
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`unbroken: ${err instanceof Error ? err.stack || err.message : String(err)}\n`);
    process.exit(1);
  },
);
