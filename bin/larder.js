#!/usr/bin/env node
// The `larder` command. Larder ships TypeScript and runs it through tsx, so neither Larder nor
// a user's project needs a build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
