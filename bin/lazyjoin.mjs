#!/usr/bin/env node
// The `lazyjoin` command: loads harness/cli.ts through tsx (TypeScript without a build step).
import { register } from 'tsx/esm/api';

register();
const { main } = await import(new URL('../harness/cli.ts', import.meta.url).href);
process.exitCode = await main(process.argv.slice(2));
