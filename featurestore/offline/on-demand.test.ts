/** On-demand views computed offline on every dataset row. */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as arrow from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLarderError } from '../../errors.ts';
import { onDemandView } from '../define/definitions.ts';
import { t } from '../define/dtypes.ts';
import { buildProject } from '../define/project.ts';
import { selectFeatures } from '../define/selection.ts';
import { createDuckDBOfflineStore } from './duckdb-store.ts';
import type { OfflineStore } from './store.ts';
import { coerceToDType } from './values.ts';
import { createFixture, writeFlights, type Fixture } from './test-support.ts';

let fixture: Fixture;
let store: OfflineStore;
let flights: Awaited<ReturnType<typeof writeFlights>>;

beforeAll(async () => {
  fixture = await createFixture();
  flights = await writeFlights(fixture);
  store = await createDuckDBOfflineStore({ path: ':memory:', projectDir: fixture.dir });
});
afterAll(async () => {
  await store?.close();
  fixture?.cleanup();
});

const HOUR = 3_600_000;
const START = Date.UTC(2024, 0, 1);

/** n entity rows cycling through origins and times, with a request field. */
function manyRows(n: number) {
  return new arrow.Table({
    origin: arrow.vectorFromArray(Array.from({ length: n }, (_, i) => ['SFO', 'LAX', 'BOS'][i % 3] as string)),
    event_timestamp: arrow.vectorFromArray(Array.from({ length: n }, (_, i) => new Date(START + (i % 97) * HOUR)), new arrow.TimestampMillisecond()),
    sched_dep: arrow.vectorFromArray(Array.from({ length: n }, (_, i) => new Date(START + (i % 24) * HOUR)), new arrow.TimestampMillisecond()),
    pos: arrow.vectorFromArray(Int32Array.from({ length: n }, (_, i) => i)),
  });
}

/** What the view computes for row i of manyRows, from the oracle's view of origin_daily. */
function expectedRow(i: number) {
  const origin = ['SFO', 'LAX', 'BOS'][i % 3];
  const T = START + (i % 97) * HOUR;
  const daily: Record<string, [number, number, number][]> = { SFO: [[START, 1.5, 10], [START + 24 * HOUR, 2.5, 20]], LAX: [[START, 3.5, 30]] };
  const match = (daily[origin as string] ?? []).filter(([ev]) => ev <= T && ev >= T - 48 * HOUR).at(-1);
  return { hour: i % 24, busy: (match?.[2] ?? 0) > 15, delay_x2: match ? match[1] * 2 : null };
}

describe('on-demand views', () => {
  it('runs compute on every row across chunks and slices, in order, showing only requested columns', async () => {
    const n = 70_000; // more than one 65,536-row slice and many 2,048-row chunks
    const selection = selectFeatures(flights.project, { features: ['time_of_day:hour', 'origin_daily:avg_delay', 'time_of_day:delay_x2', 'time_of_day:busy'] });
    const table = await store.getHistoricalFeatures({ project: flights.project, selection, entities: manyRows(n) }).toArrow();
    expect(table.schema.fields.map((f) => `${f.name}:${String(f.type)}`)).toEqual([
      'origin:Utf8', 'event_timestamp:Timestamp<MICROSECOND, UTC>', 'sched_dep:Timestamp<MICROSECOND, UTC>', 'pos:Int32',
      'hour:Int64', 'avg_delay:Float64', 'delay_x2:Float64', 'busy:Bool',
    ]);
    expect(table.numRows).toBe(n);
    const pos = table.getChild('pos')?.toArray() as Int32Array;
    const hour = table.getChild('hour')?.toArray() as BigInt64Array;
    const busy = table.getChild('busy') as arrow.Vector;
    const x2 = table.getChild('delay_x2') as arrow.Vector;
    for (let i = 0; i < n; i++) {
      const want = expectedRow(i);
      if (pos[i] !== i || hour[i] !== BigInt(want.hour) || busy.get(i) !== want.busy || x2.get(i) !== want.delay_x2) {
        expect({ i, pos: pos[i], hour: hour[i], busy: busy.get(i), delay_x2: x2.get(i) }).toEqual({ i, pos: i, ...want, hour: BigInt(want.hour) });
      }
    }
  });

  it('gives the same rows through toRows and toParquet', async () => {
    const selection = selectFeatures(flights.project, { features: ['time_of_day'] });
    const job = store.getHistoricalFeatures({ project: flights.project, selection, entities: manyRows(50) });
    const rows = await job.toRows();
    expect(rows.map((r) => ({ hour: r['hour'], busy: r['busy'], delay_x2: r['delay_x2'] }))).toEqual(Array.from({ length: 50 }, (_, i) => expectedRow(i)));
    const out = join(fixture.dir, 'od.parquet');
    const { rows: written } = await job.toParquet(out);
    expect(written).toBe(50);
    const back = await fixture.connection.runAndReadAll(`SELECT hour::INTEGER, busy FROM read_parquet('${out}')`);
    expect(back.getRows()).toEqual(rows.map((r) => [r['hour'], r['busy']]));
  });

  it('reports the view and the row when compute throws, and writes nothing', async () => {
    const boom = onDemandView('boom', {
      inputs: [flights.clock], features: { h: t.int64() },
      compute: (row) => { if (row.sched_dep.getUTCHours() === 5) throw new Error('no flights at five'); return { h: 1 }; },
    });
    const { project } = buildProject([...flights.project.views.values(), flights.clock, boom]);
    const selection = selectFeatures(project, { features: ['boom:h'] });
    mkdirSync(join(fixture.dir, 'boom'));
    const out = join(fixture.dir, 'boom/out.parquet');
    const error = await store.getHistoricalFeatures({ project, selection, entities: manyRows(30) }).toParquet(out).catch((e: unknown) => e);
    expect(isLarderError(error) && error.code).toBe('LARDER_E_ON_DEMAND_FAILED');
    expect((error as Error).message).toBe('On-demand view boom failed on row 5: no flights at five');
    expect((error as Error).cause).toBeInstanceOf(Error);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(join(fixture.dir, 'boom'))).toEqual([]);
  });

  it('refuses a computed value the declared dtype cannot hold', async () => {
    const wrong = onDemandView('wrong', { inputs: [flights.clock], features: { n: t.int64() }, compute: () => ({ n: 'many' as unknown as number }) });
    const { project } = buildProject([flights.clock, wrong]);
    const error = await store.getHistoricalFeatures({ project, selection: selectFeatures(project, { features: ['wrong:n'] }), entities: manyRows(3) })
      .toRows().catch((e: unknown) => e);
    expect((error as Error).message).toBe('On-demand view wrong failed on row 0: feature n: "many" is not a int64');
  });

  it('needs the request fields among the entity columns', async () => {
    const selection = selectFeatures(flights.project, { features: ['time_of_day:hour'] });
    const error = await store.getHistoricalFeatures({
      project: flights.project, selection, entities: [{ origin: 'SFO', event_timestamp: new Date(START) }],
    }).toRows().catch((e: unknown) => e);
    expect(isLarderError(error) && error.code).toBe('LARDER_E_INVALID_ENTITIES');
    expect((error as Error).message).toContain('missing column(s) sched_dep');
  });
});

describe('coerceToDType', () => {
  it('casts what fits and names what does not', () => {
    expect(coerceToDType(2.5, t.int64())).toBe(3);
    expect(coerceToDType(-2.5, t.int64())).toBe(-3);
    expect(coerceToDType(7n, t.float64())).toBe(7);
    expect(coerceToDType('1.5', t.float32())).toBe(1.5);
    expect(coerceToDType(12, t.string())).toBe('12');
    expect(coerceToDType(1, t.bool())).toBe(true);
    expect(coerceToDType(0, t.timestamp())).toEqual(new Date(0));
    expect(coerceToDType([1, null, '2'], t.array(t.float32()))).toEqual([1, null, 2]);
    expect(coerceToDType(undefined, t.int64())).toBe(null);
    expect(() => coerceToDType(2 ** 31, t.int32())).toThrow('2147483648 is not a int32');
    expect(() => coerceToDType('yes', t.bool())).toThrow('"yes" is not a bool');
    expect(() => coerceToDType('not a date', t.timestamp())).toThrow('"not a date" is not a timestamp');
    expect(() => coerceToDType({}, t.string())).toThrow('[object Object] is not a string');
  });
});
