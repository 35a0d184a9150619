#!/usr/bin/env node
// The dapt CLI runs from TypeScript sources through tsx, so the repo needs no build step.
require('tsx/cjs');
require('../cli/main.ts').main();
