/**
 * @module pipelines/jobs/testing/queue-for-tests
 * A queue namespace per test, and the removal of everything written under it.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

/** A fresh queue namespace, `test-<uuid>`. */
export function testPrefix(): string {
  return `test-${randomUUID()}`;
}

/** Deletes every key under `<prefix>:`; call it after the workers and runners are closed. */
export async function deleteQueueKeys(url: string, prefix: string): Promise<number> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix.replace(/[*?[\]\\]/g, '\\$&')}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
  return deleted;
}

/** How many keys live under `<prefix>:`. */
export async function countQueueKeys(url: string, prefix: string): Promise<number> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    let count = 0;
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      count += keys.length;
    } while (cursor !== '0');
    return count;
  } finally {
    client.disconnect();
  }
}
