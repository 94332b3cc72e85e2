/**
 * @module pipelines/predict
 * Batch scoring (`larder predict`): point-in-time features for every entity row, then exactly
 * the model's own serving spec and onnxruntime session that serving uses (`LoadedModel.predict`),
 * written to Parquet with the entity file's columns (labels included) plus `probability` for a
 * classifier or `prediction` for a regressor, in the entity file's row order. Rows are scored in
 * slices, so memory stays bounded by the slice, not the file.
 */
import { rm } from 'node:fs/promises';
import { larderError } from '../errors.ts';
import type { EntityInput } from '../featurestore/offline/store.ts';
import { DuckDBEngine } from '../featurestore/offline/duckdb.ts';
import { quoteIdent, sqlLiteral } from '../featurestore/offline/sql.ts';
import type { FeatureStore } from '../featurestore/store.ts';
import { loadModel } from '../registry/models/runtime.ts';
import type { ModelVersionView } from '../registry/models/types.ts';
import { readFileTable, tableColumns } from './retrain/data.ts';

export interface BatchPredictRequest {
  readonly model: string;
  /** A version, an alias or `latest`; default `champion`. */
  readonly ref?: string;
  readonly entities: EntityInput;
  /** The Parquet file to write. */
  readonly out: string;
  /** Rows per onnxruntime run; default 65,536. */
  readonly sliceRows?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (scored: number, total: number) => void;
}

export interface BatchPredictResult {
  readonly model: string;
  readonly version: ModelVersionView;
  readonly rows: number;
  /** `probability` or `prediction`. */
  readonly column: string;
  readonly out: string;
}

/**
 * Scores entity rows with a registered model and writes them to Parquet.
 * @example await batchPredict(store, { model: 'delay', entities: 'june.parquet', out: 'scored.parquet' });
 */
export async function batchPredict(store: FeatureStore, request: BatchPredictRequest): Promise<BatchPredictResult> {
  const model = await loadModel(store.models(), request.model, request.ref ?? 'champion');
  const engine = await DuckDBEngine.open({ path: ':memory:', projectDir: store.config.dir });
  const staged = `${request.out}.features.tmp.parquet`;
  try {
    const service = model.version.lineage.featureService;
    if (service === undefined) {
      throw larderError('LARDER_E_MODEL_INVALID', { what: `${request.model}@${model.version.version}`, reason: 'it records no feature service to read its features from' });
    }
    await store.getHistoricalFeatures({ entities: request.entities, service, ...(request.signal === undefined ? {} : { signal: request.signal }) }).toParquet(staged);
    const column = model.spec.task === 'classification' ? 'probability' : 'prediction';
    const featureNames = new Set(model.spec.features.map((f) => f.name));
    const rows = await engine.withSession(async (session) => {
      const table = await readFileTable(session, staged);
      const kept = table.schema.fields.map((f) => f.name).filter((name) => !featureNames.has(name));
      if (kept.includes(column)) throw larderError('LARDER_E_INVALID_REQUEST', { reason: `the entity rows already have a '${column}' column` });
      await session.run(`CREATE TEMP TABLE larder_scores (row_id BIGINT, score DOUBLE)`);
      const appender = await session.connection.createAppender('larder_scores');
      const slice = request.sliceRows ?? 65_536;
      for (let start = 0; start < table.numRows; start += slice) {
        session.checkAborted('batch scoring');
        const part = table.slice(start, Math.min(table.numRows, start + slice));
        const scores = await model.predict(tableColumns(part, [...featureNames]), part.numRows);
        for (let i = 0; i < scores.length; i++) {
          appender.appendBigInt(BigInt(start + i));
          const s = scores[i]!;
          if (Number.isNaN(s)) appender.appendNull(); else appender.appendDouble(s);
          appender.endRow();
        }
        request.onProgress?.(start + part.numRows, table.numRows);
      }
      appender.closeSync();
      const select = [...kept.map((c) => `t.${quoteIdent(c)}`), `s.score AS ${quoteIdent(column)}`].join(', ');
      await session.run(`COPY (
        SELECT ${select}
        FROM read_parquet(${sqlLiteral(staged)}, file_row_number = true) t JOIN larder_scores s ON s.row_id = t.file_row_number
        ORDER BY t.file_row_number
      ) TO ${sqlLiteral(request.out)} (FORMAT parquet)`);
      return table.numRows;
    }, request.signal);
    return { model: request.model, version: model.version, rows, column, out: request.out };
  } finally {
    engine.close();
    await model.close();
    await rm(staged, { force: true });
  }
}

