#!/usr/bin/env node
// Runs a TypeScript entry of this project under Node: tsx for TypeScript, plus `?raw` imports of shaders.
import { register } from 'node:module';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { register as registerTsx } from 'tsx/esm/api';

register('./raw-hooks.mjs', import.meta.url);
registerTsx();
const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error('usage: run-ts.mjs <file.ts> [args...]');
  process.exit(2);
}
process.argv = [process.argv[0], entry, ...args];
await import(pathToFileURL(resolve(entry)).href);
