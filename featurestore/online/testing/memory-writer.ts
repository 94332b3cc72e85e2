/**
 * @module online/testing/memory-writer
 * A second process for memory.test.ts: writes one writer's share of a seeded set of rows into a
 * memory store folder, in many small calls, so that two such processes interleave their appends.
 *
 *   node --import tsx featurestore/online/testing/memory-writer.ts DIR PROJECT SEED WRITER WRITERS
 */
import { pathToFileURL } from 'node:url';
import { createMemoryOnlineStore } from '../memory-store.ts';
import type { OnlineRow, OnlineViewLayout } from '../store.ts';

export function writerLayout(project: string): OnlineViewLayout {
  return {
    project, view: 'shared', ttlMs: null,
    features: [{ name: 'ts', dtype: { kind: 'int64' } }, { name: 'created', dtype: { kind: 'int64' } }, { name: 'writer', dtype: { kind: 'int32' } }],
  };
}

/** All writers' rows: 40 entities × 30 versions with frequent ties; writer w takes every w-th. */
export function sharedRows(seed: number): OnlineRow[] {
  let s = seed >>> 0;
  const random = (): number => {
    s = (Math.imul(s, 1_103_515_245) + 12_345) >>> 0;
    return s / 2 ** 32;
  };
  const rows: OnlineRow[] = [];
  for (let k = 0; k < 40; k++) {
    for (let v = 0; v < 30; v++) {
      const eventTs = Math.floor(random() * 5) * 1000 - 2000;
      const createdTs = random() < 0.3 ? null : Math.floor(random() * 4);
      rows.push({ entityKey: `entity-${k}`, values: [eventTs, createdTs ?? -1, 0], eventTs, createdTs });
    }
  }
  return rows;
}

async function main(argv: string[]): Promise<void> {
  const [dir, project, seed, writer, writers] = argv;
  const store = await createMemoryOnlineStore({ dir: dir as string });
  const mine = sharedRows(Number(seed)).filter((_, i) => i % Number(writers) === Number(writer))
    .map((row) => ({ ...row, values: [row.values[0], row.values[1], Number(writer)] }));
  for (let i = 0; i < mine.length; i += 20) await store.write(writerLayout(project as string), mine.slice(i, i + 20));
  await store.close();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main(process.argv.slice(2));
}
