import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { createMemoryOnlineStore } from './memory-store.ts';
import { onlineStoreSuite } from './online-store.suite.ts';

const dirs: string[] = [];
afterAll(async () => { await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))); });

onlineStoreSuite('memory (in process)', () => createMemoryOnlineStore({ dir: null }));
onlineStoreSuite('memory (persisted)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'larder-online-'));
  dirs.push(dir);
  return createMemoryOnlineStore({ dir });
});
