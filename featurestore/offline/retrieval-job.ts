/**
 * @module offline/retrieval-job
 * A planned point-in-time dataset. Each `to*` call opens its own DuckDB session, loads or
 * checks the entity rows, runs the query (plus on-demand views) and reads or writes the result.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Table } from 'apache-arrow';
import { isLarderError, larderError, reasonOf } from '../../errors.ts';
import { chunkColumns, resultToArrow } from './arrow.ts';
import type { DuckDBEngine, Session } from './duckdb.ts';
import { checkEntityColumns, classifyEntities, entityRelation, type EntityData } from './entities.ts';
import { loadArrowTable, loadRowObjects } from './entity-load.ts';
import { contentHash } from './fingerprint.ts';
import { computeOnDemand, onDemandFinalSql } from './on-demand.ts';
import { pointInTimeSql, type EntityRelation } from './pit-sql.ts';
import { planPointInTime, type PitPlan } from './plan.ts';
import { describeSource, assertSourceFiles } from './sources.ts';
import { quoteIdent, sqlLiteral } from './sql.ts';
import type { HistoricalRequest, RetrievalJob } from './store.ts';

const ENTITY_TABLE = '__larder_entities';
const BASE_TABLE = '__larder_base';
const ON_DEMAND_TABLE = '__larder_on_demand';

export class DuckDBRetrievalJob implements RetrievalJob {
  private readonly plan: PitPlan;
  private readonly data: EntityData;
  private readonly relation: EntityRelation;
  private readonly text: string;
  /** Output column → `view:feature`, to report an entity column that would shadow it. */
  private readonly refs: ReadonlyMap<string, string>;

  constructor(private readonly engine: DuckDBEngine, private readonly request: HistoricalRequest) {
    this.plan = planPointInTime(request.project, request.selection, request.timestampColumn ?? 'event_timestamp');
    this.data = classifyEntities(request.entities, engine.projectDir);
    this.relation = entityRelation(this.data, this.plan, ENTITY_TABLE);
    this.text = pointInTimeSql(this.plan, this.relation, engine.projectDir, this.plan.onDemand.length > 0 ? 'base' : 'final');
    this.refs = new Map(request.selection.columns.map((c) => [c.column, c.ref]));
  }

  sql(): string {
    return this.text;
  }

  toArrow(): Promise<Table> {
    return this.run(async (session, query) => resultToArrow(await session.stream(query), () => session.checkAborted()));
  }

  toRows(): Promise<Record<string, unknown>[]> {
    return this.run(async (session, query) => {
      const result = await session.stream(query);
      const names = result.columnNames();
      const types = result.columnTypes();
      const rows: Record<string, unknown>[] = [];
      for (;;) {
        session.checkAborted();
        const chunk = await result.fetchChunk();
        if (!chunk || chunk.rowCount === 0) break;
        const columns = chunkColumns(chunk, types);
        for (let r = 0; r < chunk.rowCount; r++) {
          const row: Record<string, unknown> = {};
          names.forEach((name, c) => { row[name] = (columns[c] as unknown[])[r]; });
          rows.push(row);
        }
      }
      return rows;
    });
  }

  /** Writes to a temp file beside `path`, hashes it, then renames it into place: never half-written. */
  toParquet(path: string): Promise<{ rows: number; contentHash: string }> {
    const target = resolve(path);
    const temp = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    return this.run(async (session, query) => {
      try {
        await mkdir(dirname(target), { recursive: true });
        await session.run(`COPY (\n${query}\n) TO ${sqlLiteral(temp)} (FORMAT parquet)`);
        const hash = await contentHash(session, temp);
        session.checkAborted();
        await rename(temp, target);
        return hash;
      } catch (error) {
        await rm(temp, { force: true });
        if (isLarderError(error)) throw error;
        throw larderError('LARDER_E_IO', { path: target, reason: reasonOf(error) }, { cause: error });
      }
    });
  }

  /** Opens a session, prepares the entity rows and on-demand features, and runs `read` on the final query. */
  private async run<T>(read: (session: Session, query: string) => Promise<T>): Promise<T> {
    const signal = this.request.signal;
    if (signal?.aborted) throw larderError('LARDER_E_ABORTED', { what: 'point-in-time query' }, { cause: signal.reason });
    return this.engine.withSession(async (session) => {
      if (this.data.kind === 'arrow') await loadArrowTable(session, ENTITY_TABLE, this.data.table);
      if (this.data.kind === 'rows') await loadRowObjects(session, ENTITY_TABLE, this.data.rows);
      await checkEntityColumns(session, this.data, this.relation, this.plan, this.refs);
      for (const view of this.plan.views) await assertSourceFiles(session, view.source, this.engine.projectDir);
      let query = this.text;
      try {
        if (this.plan.onDemand.length > 0) {
          await session.run(`CREATE TEMP TABLE ${quoteIdent(BASE_TABLE)} AS\n${this.text}`);
          await computeOnDemand(session, this.plan, BASE_TABLE, ON_DEMAND_TABLE);
          query = onDemandFinalSql(this.plan, BASE_TABLE, ON_DEMAND_TABLE);
        }
        return await read(session, query);
      } catch (error) {
        // A streamed query can also fail while its chunks are fetched.
        throw await this.explain(session, isLarderError(error) ? error : session.queryError(error, query));
      }
    }, signal);
  }

  /** A failed query names the unreadable source, if one is the cause. */
  private async explain(session: Session, error: unknown): Promise<unknown> {
    if (!isLarderError(error) || error.code !== 'LARDER_E_QUERY_FAILED' || session.signal?.aborted) return error;
    for (const view of this.plan.views) {
      try {
        await describeSource(session, view.source, this.engine.projectDir);
      } catch (unreadable) {
        if (isLarderError(unreadable) && unreadable.code === 'LARDER_E_SOURCE_UNREADABLE') {
          const { reason } = unreadable.details as { reason: string };
          return larderError('LARDER_E_SOURCE_UNREADABLE', { source: view.source.name, reason }, { cause: error, details: error.details });
        }
      }
    }
    return error;
  }
}
