/**
 * @module bench/train
 * GBDT training benchmark (issue: trainers): a seeded synthetic dataset of 1M rows × 20
 * features (the trainers' nonlinear test signal plus noise columns: floats, a string, an int, a
 * bool, a timestamp, nulls), trained for 50 rounds at depth 6 without early stopping. Reports
 * rows·rounds/s, time per round and peak RSS; then inference parity between the TypeScript model
 * and onnxruntime (max |TS − ORT| on 100k held-out rows) and both inference speeds (ORT: best of 3
 * runs of one 100k-row batch; TS: one call, encoding included).
 *
 *   node --import tsx bench/train.ts [--rows 1000000] [--rounds 50] [--depth 6] [--leaves 63] [--parity-rows 100000] [--json]
 */
import { cpus, loadavg } from 'node:os';
import * as ort from 'onnxruntime-node';
import { tensorsFor } from '../registry/models/feeds.ts';
import { frameFromColumns, trainModel } from '../pipelines/trainers/index.ts';
import { syntheticData } from '../pipelines/trainers/testing/synthetic.ts';
import { benchArgs } from './args.ts';

const opts = benchArgs();
const rows = Number(opts['rows'] ?? 1_000_000);
const rounds = Number(opts['rounds'] ?? 50);
const maxDepth = Number(opts['depth'] ?? 6);
const maxLeaves = Number(opts['leaves'] ?? 63);
const parityRows = Number(opts['parity-rows'] ?? 100_000);
const FEATURES = 20;
const seconds = (ms: number): number => Number((ms / 1000).toFixed(2));
const peakRssMb = (): number => Math.round(process.resourceUsage().maxRSS / 1024);

const results: Record<string, unknown> = { cpus: cpus().length, loadBefore: loadavg()[0], rows, features: FEATURES, rounds, maxDepth, maxLeaves };

let t = performance.now();
const data = syntheticData({ rows, seed: 1, noise: FEATURES - 7 });
const train = frameFromColumns(data.columns, data.features, data.label);
results['dataSeconds'] = seconds(performance.now() - t);

const roundMs: number[] = [];
let last = performance.now();
t = last;
const model = trainModel(train, {
  trainer: 'gbdt', seed: 1,
  params: { rounds, maxDepth, maxLeaves, learningRate: 0.1, minDataInLeaf: 100 },
  onProgress: () => { const now = performance.now(); roundMs.push(now - last); last = now; },
});
const trainMs = performance.now() - t;
const sortedRounds = [...roundMs].sort((a, b) => a - b);
results['training'] = {
  seconds: seconds(trainMs),
  rowsRoundsPerSec: Math.round((rows * rounds) / (trainMs / 1000)),
  medianRoundMs: Math.round(sortedRounds[Math.floor(sortedRounds.length / 2)]!),
  firstRoundMs: Math.round(roundMs[0]!),
  trainLogloss: Number(model.info.trainLoss.toFixed(5)),
  peakRssMb: peakRssMb(),
};

const holdout = syntheticData({ rows: parityRows, seed: 2, noise: FEATURES - 7 });
const test = frameFromColumns(holdout.columns, holdout.features, holdout.label);
t = performance.now();
const ts = model.predict(test);
const tsMs = performance.now() - t;
const { bytes, serving } = model.toOnnx();
const session = await ort.InferenceSession.create(bytes);
try {
  t = performance.now();
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, tensor] of Object.entries(tensorsFor(serving, holdout.columns, parityRows))) {
    feeds[name] = tensor.type === 'string' ? new ort.Tensor('string', tensor.data as string[], tensor.dims) : new ort.Tensor('float32', tensor.data as Float32Array, tensor.dims);
  }
  const feedMs = performance.now() - t;
  // Best of three runs: the first one also warms onnxruntime up.
  let ortMs = Infinity;
  let onnx: Float32Array = new Float32Array(0);
  for (let run = 0; run < 3; run++) {
    t = performance.now();
    const out = await session.run(feeds);
    ortMs = Math.min(ortMs, performance.now() - t);
    onnx = out[serving.output.name]!.data as Float32Array;
  }
  let maxDiff = 0;
  for (let i = 0; i < parityRows; i++) maxDiff = Math.max(maxDiff, Math.abs(ts[i]! - onnx[i]!));
  results['inference'] = {
    parityRows, maxAbsDiff: maxDiff, onnxBytes: bytes.length,
    tsRowsPerSec: Math.round(parityRows / (tsMs / 1000)),
    ortRowsPerSec: Math.round(parityRows / (ortMs / 1000)),
    feedBuildMs: Math.round(feedMs),
  };
} finally {
  await session.release();
}
results['peakRssMb'] = peakRssMb();
results['loadAfter'] = loadavg()[0];

if (opts['json']) console.log(JSON.stringify(results, null, 2));
else {
  const tr = results['training'] as { seconds: number; rowsRoundsPerSec: number; medianRoundMs: number; firstRoundMs: number; trainLogloss: number };
  const inf = results['inference'] as { maxAbsDiff: number; tsRowsPerSec: number; ortRowsPerSec: number; onnxBytes: number; feedBuildMs: number };
  console.log(`${rows} rows × ${FEATURES} features, ${results['cpus']} cores, load ${(results['loadBefore'] as number).toFixed(1)} → ${(results['loadAfter'] as number).toFixed(1)}; data ${results['dataSeconds']} s`);
  console.log(`GBDT ${rounds} rounds, depth ${maxDepth}, ≤ ${maxLeaves} leaves: ${tr.seconds} s = ${(tr.rowsRoundsPerSec / 1e6).toFixed(2)}M rows·rounds/s; median round ${tr.medianRoundMs} ms (first ${tr.firstRoundMs} ms); train logloss ${tr.trainLogloss}`);
  console.log(`inference on ${parityRows} rows: max |TS − ORT| = ${inf.maxAbsDiff.toExponential(2)}; TS ${(inf.tsRowsPerSec / 1e6).toFixed(2)}M rows/s, ORT ${(inf.ortRowsPerSec / 1e6).toFixed(2)}M rows/s (+ ${inf.feedBuildMs} ms to build feeds); model ${(inf.onnxBytes / 1024).toFixed(0)} KiB`);
  console.log(`peak RSS ${results['peakRssMb']} MB`);
}
