#!/usr/bin/env node
// The `unbroken` command. `npm run build` copies this file to dist/bin/, beside the compiled
// JavaScript, which it then runs with plain node. In a checkout there is no compiled cli/main.js
// beside it, so it runs the TypeScript sources through tsx (a dev dependency): no build step to
// forget, and never a stale dist/ in place of the code being edited.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

function entryPoint() {
  const compiled = path.join(__dirname, '..', 'cli', 'main.js');
  if (fs.existsSync(compiled)) return compiled;
  require('tsx/cjs');
  return path.join(__dirname, '..', 'cli', 'main.ts');
}

const { main } = require(entryPoint());
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`unbroken: ${err instanceof Error ? err.stack || err.message : String(err)}\n`);
    process.exit(1);
  },
);
