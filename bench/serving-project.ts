/**
 * @module bench/serving-project
 * The project `bench/serving.ts` serves: entity `user`, three views of float64 features over one
 * Parquet source (`v_a`: a0…a6, `v_b`: b0…b6, `v_c`: c0…c5 — 20 features), a feature service
 * `bench20` over all three, online store Redis under a unique project name; and two models on
 * that service: `mlp` (20 → 256 → 512 → 1, ReLU, sigmoid), `gbdt300` (300 trees) — the heavy
 * models — and `gbdt` (100 trees, depth ≤ 6, like the flights quickstart's model), both from
 * Larder's own GBDT trainer on a nonlinear label. Each model is also registered as
 * `<name>_unbatched` (same bytes) so one server can serve both with different batching settings.
 */
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { sqlLiteral } from '../featurestore/offline/sql.ts';
import type { FeatureStore } from '../featurestore/store.ts';
import { buildOnnxModel } from '../registry/models/onnx-build.ts';
import type { ModelFeature, ModelServingSpec } from '../registry/models/serving-spec.ts';
import { frameFromColumns, trainModel } from '../pipelines/trainers/index.ts';
import { mulberry32 as random } from '../random.ts';
import { writeProjectFolder } from '../featurestore/testing/project-folder.ts';

export const VIEWS = { v_a: 7, v_b: 7, v_c: 6 } as const;
export const FEATURES = Object.entries(VIEWS).flatMap(([view, n]) => Array.from({ length: n }, (_, i) => `${view.slice(2)}${i}`));
export const SERVICE = 'bench20';

function definitions(): string {
  const views = Object.entries(VIEWS).map(([view, n]) => `export const ${view} = featureView('${view}', {
  entities: [user], source: users,
  features: { ${Array.from({ length: n }, (_, i) => `${view.slice(2)}${i}: t.float64()`).join(', ')} },
});`).join('\n');
  return `import { entity, featureService, featureView, fileSource, t } from 'larder';

export const user = entity('user', { joinKeys: { user_id: t.string() } });
export const users = fileSource('users', { path: 'data/users.parquet', timestamp: 'ts' });
${views}
export const ${SERVICE} = featureService('${SERVICE}', { features: [${Object.keys(VIEWS).join(', ')}] });
`;
}

/** Writes the project and its data into `dir`; returns the feature columns of the users (for training). */
export async function createServingBenchProject(dir: string, options: { project: string; redisUrl: string; users: number }): Promise<Record<string, Float64Array>> {
  writeProjectFolder(dir, { project: options.project, definitions: definitions(), online: { type: 'redis', url: options.redisUrl } });
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const ts = new Date(Date.now() - 3_600_000).toISOString().slice(0, 19).replace('T', ' ');
    const cols = FEATURES.map((f, k) => `(hash(i, ${k}) % 20000) / 1000.0 - 10 AS ${f}`).join(', ');
    await connection.run(`CREATE TABLE users AS SELECT 'u' || i AS user_id, TIMESTAMP '${ts}' AS ts, ${cols} FROM range(${options.users}) AS r(i)`);
    await connection.run(`COPY users TO ${sqlLiteral(path.join(dir, 'data', 'users.parquet'))} (FORMAT parquet)`);
    const reader = await connection.runAndReadAll(`SELECT ${FEATURES.join(', ')} FROM users ORDER BY user_id`);
    const rows = reader.getRowObjectsJS();
    const out: Record<string, Float64Array> = {};
    for (const f of FEATURES) out[f] = Float64Array.from(rows, (r) => Number(r[f]));
    return out;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** An MLP `inputs → hidden… → 1` (ReLU, sigmoid output) with He-scaled random weights. */
export function mlpModel(inputs: number, hidden: readonly number[], seed = 1): Uint8Array {
  const next = random(seed);
  const sizes = [inputs, ...hidden, 1];
  const initializers = [];
  const nodes = [];
  let x = 'X';
  for (let l = 0; l + 1 < sizes.length; l++) {
    const [n, m] = [sizes[l] as number, sizes[l + 1] as number];
    const scale = Math.sqrt(2 / n);
    initializers.push({ name: `W${l}`, type: 'float32' as const, dims: [n, m], values: Array.from({ length: n * m }, () => (next() * 2 - 1) * scale) });
    initializers.push({ name: `B${l}`, type: 'float32' as const, dims: [m], values: Array.from({ length: m }, () => (next() - 0.5) * 0.1) });
    nodes.push({ op: 'MatMul', inputs: [x, `W${l}`], outputs: [`M${l}`] });
    nodes.push({ op: 'Add', inputs: [`M${l}`, `B${l}`], outputs: [`A${l}`] });
    const last = l + 2 === sizes.length;
    nodes.push({ op: last ? 'Sigmoid' : 'Relu', inputs: [`A${l}`], outputs: [last ? 'Y' : `H${l}`] });
    x = `H${l}`;
  }
  return buildOnnxModel({
    name: 'mlp',
    inputs: [{ name: 'X', type: 'float32', shape: ['N', inputs] }],
    outputs: [{ name: 'Y', type: 'float32', shape: ['N', 1] }],
    initializers, nodes,
  });
}

async function registerDeployed(store: FeatureStore, name: string, bytes: Uint8Array, serving: ModelServingSpec, serviceFeatures: readonly ModelFeature[]): Promise<string> {
  const models = store.models();
  const { model } = await models.register({ name, artifact: bytes, featureService: SERVICE, serviceFeatures, serving, who: 'bench', why: 'bench/serving.ts' });
  await models.approve(name, model.version, { who: 'bench' });
  await models.deploy(name, model.version, { who: 'bench' });
  return model.version;
}

/**
 * Registers and deploys (alias `champion`) `mlp` (20 → `mlpHidden` → 1), `gbdt` (100 trees),
 * `gbdt300` (300 trees) and their `_unbatched` twins.
 */
export async function registerBenchModels(store: FeatureStore, columns: Record<string, Float64Array>, mlpHidden: readonly number[] = [256, 512]): Promise<void> {
  const { features } = await store.serviceFeatures(SERVICE);
  const mlpServing: ModelServingSpec = { task: 'classification', features, inputs: [{ input: 'X', features: features.map((f) => f.name), type: 'float32' }], output: { name: 'Y' } };
  const mlp = mlpModel(features.length, mlpHidden);
  // A nonlinear label: an interaction and a threshold, with ~10% noise.
  const n = columns['a0']?.length ?? 0;
  const label = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const c = (f: string): number => columns[f]?.[i] ?? 0;
    const signal = (c('a0') * c('b1') > 0) !== (c('c2') + c('a3') > 2);
    label[i] = (signal ? 1 : 0) ^ (Math.abs(Math.sin(i * 12.9898)) < 0.1 ? 1 : 0);
  }
  const frame = frameFromColumns({ ...columns, label }, features, 'label');
  // No validation set, so no early stopping: exactly `rounds` trees.
  const gbdt = trainModel(frame, { trainer: 'gbdt', seed: 1, params: { rounds: 100 } }).toOnnx();
  const gbdt300 = trainModel(frame, { trainer: 'gbdt', seed: 1, params: { rounds: 300 } }).toOnnx();
  for (const suffix of ['', '_unbatched']) {
    await registerDeployed(store, `mlp${suffix}`, mlp, mlpServing, features);
    await registerDeployed(store, `gbdt${suffix}`, gbdt.bytes, gbdt.serving, features);
    await registerDeployed(store, `gbdt300${suffix}`, gbdt300.bytes, gbdt300.serving, features);
  }
}
