/**
 * @module registry/testing/registry-child
 * A registry client in its own process, for the lock and concurrency tests.
 * Usage: `node --import tsx registry-child.ts <mode> <dir> <project> [arg] [lockWaitMs]`
 *   apply <specs JSON>  apply and print `{ ok, serial }` or `{ ok: false, code, message }`
 *   hold                take the lock, print `{ held, pid }`, release on a line on stdin
 *   die-holding         take the lock and exit without releasing it (a crashed holder)
 * Every output is one JSON line on stdout.
 */
import { isLarderError } from '../../errors.ts';
import type { DefinitionSpec } from '../../featurestore/define/spec.ts';
import { openFileRegistry } from '../index.ts';

const [mode, dir, project, arg, waitMs] = process.argv.slice(2);
if (mode === undefined || dir === undefined || project === undefined) throw new Error('usage: registry-child <mode> <dir> <project> [arg] [lockWaitMs]');
const registry = openFileRegistry({ dir, project, lockWaitMs: Number(waitMs ?? 0) });
const say = (value: unknown): void => { process.stdout.write(`${JSON.stringify(value)}\n`); };

switch (mode) {
  case 'apply':
    try {
      const plan = await registry.apply(JSON.parse(arg ?? '[]') as DefinitionSpec[]);
      say({ ok: true, serial: plan.baseSerial + (plan.hasChanges ? 1 : 0) });
    } catch (error) {
      if (!isLarderError(error)) throw error;
      say({ ok: false, code: error.code, message: error.message, details: error.details });
    }
    break;
  case 'hold':
    await registry.withLock(async () => {
      say({ held: true, pid: process.pid });
      await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
    });
    say({ released: true });
    process.stdin.destroy();
    break;
  case 'die-holding':
    await registry.withLock(async () => {
      say({ held: true, pid: process.pid });
      process.exit(0);
    });
    break;
  default:
    throw new Error(`unknown mode ${mode}`);
}
