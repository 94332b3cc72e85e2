/**
 * @module offline/on-demand
 * Runs on-demand views' `compute` on every dataset row, offline, the same function that runs
 * online (DESIGN §4). The point-in-time result is first materialized in a per-job table
 * (`base`); it is read back in slices of rows, each row object gets the request fields and the
 * input views' features, and the computed features are appended column-wise to a second table
 * (`__larder_row` + one column per requested on-demand feature). The dataset is then one
 * ordered join of the two, so only one slice of rows is ever held as JS objects.
 */
import { DuckDBDataChunk, JSToDuckDBValueConverter, type DuckDBType } from '@duckdb/node-api';
import { computeOnDemandRow } from '../on-demand-row.ts';
import { chunkColumns } from './arrow.ts';
import type { Session } from './duckdb.ts';
import { ROW_COLUMN, type OutputPlan, type PitPlan } from './plan.ts';
import { quoteIdent, qualified, sqlLiteral, sqlType } from './sql.ts';

/** Rows read back per slice: enough to amortize a query, few enough to keep JS memory small. */
const SLICE_ROWS = 65_536;

type OnDemandOutput = Extract<OutputPlan, { kind: 'onDemand' }>;

/**
 * Fills `outTable` with the on-demand features of every row of `baseTable` (which holds the
 * base query's result: entity columns, `__larder_row`, batch features, hidden inputs).
 */
export async function computeOnDemand(session: Session, plan: PitPlan, baseTable: string, outTable: string): Promise<void> {
  const outputs = plan.outputs.filter((o): o is OnDemandOutput => o.kind === 'onDemand');
  const defs = [`${quoteIdent(ROW_COLUMN)} BIGINT`, ...outputs.map((o) => `${quoteIdent(o.column)} ${sqlType(o.type)}`)];
  await session.run(`CREATE TEMP TABLE ${quoteIdent(outTable)} (${defs.join(', ')})`);

  const inputColumns = [ROW_COLUMN, ...plan.onDemand.flatMap((o) => o.inputs.map((i) => i.hidden))];
  const select = inputColumns.map(quoteIdent).join(', ');
  const [count] = await session.rows(`SELECT count(*) AS n FROM ${quoteIdent(baseTable)}`);
  const total = Number(count?.['n'] ?? 0);

  const appender = await session.connection.createAppender(outTable);
  try {
    const types: DuckDBType[] = Array.from({ length: appender.columnCount }, (_, i) => appender.columnType(i));
    for (let start = 0; start < total; start += SLICE_ROWS) {
      const result = await session.query(
        `SELECT ${select} FROM ${quoteIdent(baseTable)} WHERE ${quoteIdent(ROW_COLUMN)} >= ${sqlLiteral(start)} ` +
        `AND ${quoteIdent(ROW_COLUMN)} < ${sqlLiteral(start + SLICE_ROWS)} ORDER BY ${quoteIdent(ROW_COLUMN)}`,
      );
      const resultTypes = result.columnTypes();
      for (;;) {
        session.checkAborted('computing on-demand features');
        const chunk = await result.fetchChunk();
        if (!chunk || chunk.rowCount === 0) break;
        const columns = chunkColumns(chunk, resultTypes);
        const computed = computeChunk(plan, outputs, inputColumns, columns, chunk.rowCount);
        const out = DuckDBDataChunk.create(types, chunk.rowCount);
        computed.forEach((values, i) => out.setColumnValuesConverted(i, values as never[], JSToDuckDBValueConverter));
        appender.appendDataChunk(out);
      }
      appender.flushSync();
    }
  } finally {
    appender.closeSync();
  }
}

/** The appended columns (`__larder_row`, then each on-demand output) for one chunk of rows. */
function computeChunk(plan: PitPlan, outputs: readonly OnDemandOutput[], inputColumns: readonly string[], columns: unknown[][], rows: number): unknown[][] {
  const columnOf = new Map(inputColumns.map((name, i) => [name, columns[i] as unknown[]]));
  const positions = columns[0] as unknown[];
  const out: unknown[][] = [positions, ...outputs.map(() => new Array<unknown>(rows))];
  for (const { odfv, inputs } of plan.onDemand) {
    const wanted = outputs.map((o, i) => ({ o, i })).filter(({ o }) => o.odfv === odfv);
    const features = wanted.map(({ o }) => o);
    for (let r = 0; r < rows; r++) {
      const row: Record<string, unknown> = {};
      for (const input of inputs) row[input.field] = (columnOf.get(input.hidden) as unknown[])[r];
      const values = computeOnDemandRow(odfv, row, features, String(positions[r]));
      wanted.forEach(({ i }, k) => { (out[i + 1] as unknown[])[r] = values[k]; });
    }
  }
  return out;
}

/** The dataset once on-demand features are computed: entity columns, then features in request order. */
export function onDemandFinalSql(plan: PitPlan, baseTable: string, outTable: string): string {
  const hidden = [ROW_COLUMN, ...plan.outputs.filter((o) => o.kind === 'batch').map((o) => o.column),
    ...plan.onDemand.flatMap((o) => o.inputs.map((i) => i.hidden))];
  const features = plan.outputs.map((o) => `${qualified(o.kind === 'batch' ? 'b' : 'o', o.column)} AS ${quoteIdent(o.column)}`);
  return `SELECT "b".* EXCLUDE (${hidden.map(quoteIdent).join(', ')}),\n  ${features.join(',\n  ')}\n` +
    `FROM ${quoteIdent(baseTable)} AS "b" JOIN ${quoteIdent(outTable)} AS "o" ON ${qualified('b', ROW_COLUMN)} = ${qualified('o', ROW_COLUMN)}\n` +
    `ORDER BY ${qualified('b', ROW_COLUMN)}`;
}
