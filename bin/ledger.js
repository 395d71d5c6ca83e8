#!/usr/bin/env node
'use strict';
// The `ledger` command. It runs the compiled code in dist/, which `npm install` builds.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const entry = join(__dirname, '..', 'dist', 'infra', 'cli', 'main.js');
if (!existsSync(entry)) {
  process.stderr.write('ledger: dist/ is missing; run `npm run build` (npm install does it) first\n');
  process.exit(1);
}
require(entry).main(process.argv);
