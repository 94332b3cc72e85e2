/**
 * @module testing/materialize-project
 * Test support for materialization (not shipped): a project folder, as a user would have it, with
 * a generated Parquet source of `users × rowsPerUser` rows and two views over it — `user_stats`
 * (late-arriving rows with a createdTimestamp, a ttl, event-time ties broken by created time,
 * every scalar dtype) and `user_region` (composite key, no ttl). The data is a pure function of
 * the sizes, so two projects made alike hold the same rows; no two rows of one key tie fully.
 */
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { sqlLiteral } from '../offline/sql.ts';
import { writeProjectFolder } from './project-folder.ts';

/** First event time in the generated data; row k of a user has its event at BASE + ⌊k/2⌋ hours. */
export const BASE = Date.UTC(2026, 0, 1);
export const HOUR = 3_600_000;

export interface ProjectOptions {
  /** The project name (also the Redis key namespace). */
  readonly project: string;
  readonly users: number;
  readonly rowsPerUser: number;
  /** Default: the memory store under `.larder/online`. */
  readonly online?: { type: 'memory' } | { type: 'redis'; url: string };
}

const DEFINITIONS = `import { entity, featureView, fileSource, t } from 'larder';

export const user = entity('user', { joinKeys: { user_id: t.string() } });
export const region = entity('region', { joinKeys: { region: t.int64() } });
export const events = fileSource('events', { path: 'data/events.parquet', timestamp: 'ev', createdTimestamp: 'cr' });
export const byTime = fileSource('events_by_time', { path: 'data/events.parquet', timestamp: 'at' });

export const userStats = featureView('user_stats', {
  entities: [user], source: events, ttl: '1d',
  features: { x: t.float64(), n: t.int64(), tag: t.string(), flag: t.bool(), seen: t.timestamp() },
});
export const userRegion = featureView('user_region', {
  entities: [user, region], source: byTime,
  features: { x: t.float64() },
});
`;

/** Writes the project into `dir` and returns it. */
export async function createMaterializeProject(dir: string, options: ProjectOptions): Promise<string> {
  writeProjectFolder(dir, { project: options.project, definitions: DEFINITIONS, ...(options.online === undefined ? {} : { online: options.online }) });
  const n = options.users;
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const base = `TIMESTAMP '${new Date(BASE).toISOString().slice(0, 19).replace('T', ' ')}'`;
    const k = `(i // ${n})`;
    await connection.run(`COPY (
      SELECT 'u' || (i % ${n}) AS user_id, CAST(i % 3 AS BIGINT) AS region,
             ${base} + to_hours(CAST(${k} // 2 AS BIGINT)) AS ev,
             ${base} + to_hours(CAST(${k} // 2 AS BIGINT)) + to_minutes(CAST(${k} % 2 * 10 + hash(i) % 5 AS BIGINT)) AS cr,
             ${base} + to_seconds(CAST(i AS BIGINT)) AS at,
             CASE WHEN hash(i * 5) % 10 = 0 THEN NULL ELSE (hash(i) % 10000) / 100.0 END AS x,
             CAST(hash(i * 3) % 1000 AS BIGINT) AS n, 't' || (hash(i) % 7) AS tag, hash(i * 7) % 2 = 0 AS flag,
             ${base} + to_milliseconds(CAST(hash(i) % 1000000 AS BIGINT)) AS seen
      FROM range(${n * options.rowsPerUser}) AS r(i)
    ) TO ${sqlLiteral(path.join(dir, 'data', 'events.parquet'))} (FORMAT parquet)`);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return dir;
}
