#!/usr/bin/env node
// The `bettong` command. In a source checkout it runs the TypeScript sources through tsx (no build
// step between an edit and a run); the installed package has no src/ and runs the compiled dist/.
import fs from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
if (fs.existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import('../dist/cli/main.js');
}
