import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlLiteral } from '../../featurestore/offline/sql.ts';
import { predictionLogGlob } from '../predictor/index.ts';
import { createServedProject, type ServedProject } from './testing/served-project.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

describe('larder serve as a process: SIGTERM under load', () => {
  let root: string;
  let project: ServedProject;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'larder-serve-sigterm-'));
    // Nothing is flushed before the signal: every logged row is written by the shutdown.
    project = await createServedProject(join(root, 'churn'), { customers: 100, serve: { predictionLog: { flushRows: 1_000_000, flushMs: 600_000 } } });
  }, 60_000);
  afterAll(async () => {
    if (child?.exitCode === null) child.kill('SIGKILL');
    await rm(root, { recursive: true, force: true });
  });

  it('finishes in-flight requests, writes a log row for every prediction answered, and exits 0', async () => {
    const server = spawn(process.execPath, ['bin/larder.js', 'serve', '--project', project.dir, '--port', '0', '--json'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    child = server;
    let stderr = '';
    server.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const exited = once(server, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    const lines = createInterface({ input: server.stdout! });
    const [first] = await Promise.race([once(lines, 'line') as Promise<[string]>, exited.then(() => { throw new Error(`serve exited early: ${stderr}`); })]);
    const { url } = JSON.parse(first) as { url: string };

    const answered: string[] = [];
    let refused = 0;
    let stop = false;
    let signalled = false;
    let resolveSignal!: () => void;
    const enoughLoad = new Promise<void>((resolve) => { resolveSignal = resolve; });
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        try {
          const res = await fetch(`${url}/v1/predict/churn`, {
            method: 'POST', headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ entities: [{ customer_id: `c${(w * 7 + i) % 100}` }, { customer_id: `c${(w * 13 + i) % 100}` }, { customer_id: 'nobody' }] }),
          });
          const body = await res.json() as { predictions?: { id: string }[]; error?: { code: string } };
          if (res.status === 200) answered.push(...body.predictions!.map((p) => p.id));
          else if (res.status === 503 && body.error?.code === 'LARDER_E_UNAVAILABLE') refused++;
          else throw new Error(`unexpected ${res.status} ${JSON.stringify(body)}`);
          if (answered.length >= 600) resolveSignal();
        } catch (error) {
          if (!signalled) throw error;
          return; // the server is gone: connection refused or reset
        }
      }
    };
    const workers = Array.from({ length: 12 }, (_, w) => worker(w));
    await Promise.race([enoughLoad, Promise.all(workers).then(() => { throw new Error('the load stopped before the signal'); })]);
    signalled = true;
    server.kill('SIGTERM');
    const [code] = await exited;
    stop = true;
    await Promise.all(workers);
    expect(code, stderr).toBe(0);
    expect(answered.length).toBeGreaterThanOrEqual(600);

    const db = await DuckDBInstance.create(':memory:');
    const connection = await db.connect();
    try {
      const glob = predictionLogGlob(join(project.dir, '.larder', 'predictions'), 'churn');
      const rows = (await connection.runAndReadAll(`SELECT id FROM read_parquet(${sqlLiteral(glob)}, hive_partitioning = true)`)).getRowObjectsJS();
      const logged = new Set(rows.map((r) => String(r['id'])));
      expect(rows.length).toBe(answered.length);
      expect(answered.filter((id) => !logged.has(id))).toEqual([]);
    } finally {
      connection.closeSync();
      db.closeSync();
    }
  }, 60_000);
});
