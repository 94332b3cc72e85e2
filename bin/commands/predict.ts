/**
 * @module commands/predict
 * `larder predict`: batch scoring of entity rows with a registered model, through the same
 * serving spec and onnxruntime session that serving uses.
 */
import { resolve } from 'node:path';
import { openStore } from '../../featurestore/store.ts';
import type { Command, CommandContext } from '../command.ts';
import { EXIT, usageError } from '../output.ts';
import { withProgress } from '../progress.ts';
import { parseModelRef } from './models.ts';

const USAGE = `Usage: larder predict --model NAME[@VERSION|@ALIAS] --entities FILE --out FILE.parquet [--project DIR] [--json]

Scores every entity row (join keys, the event timestamp column, anything else such as labels)
with a registered model: point-in-time features from its feature service, then exactly the
model's serving spec and onnxruntime session. The output keeps the entity file's columns and row
order and adds probability (classifiers) or prediction (regressors). The model defaults to its
champion alias.`;

export const predictCommand: Command = {
  summary: 'batch-score entity rows with a registered model (Parquet out)',
  usage: USAGE,
  options: { model: { type: 'string' }, entities: { type: 'string' }, out: { type: 'string' } },
  async run({ io, values, projectDir }: CommandContext): Promise<number> {
    const { name, ref } = parseModelRef(typeof values.model === 'string' ? values.model : undefined, 'champion', USAGE);
    if (typeof values.entities !== 'string' || typeof values.out !== 'string') throw usageError(`give --entities FILE and --out FILE.parquet\n${USAGE}`);
    const entities = resolve(projectDir, values.entities);
    const out = resolve(values.out);
    const store = await openStore({ dir: projectDir });
    try {
      // Loaded here: it pulls in onnxruntime, which other commands never need.
      const { batchPredict } = await import('../../pipelines/predict.ts');
      const started = performance.now();
      const result = await withProgress(io, `scoring with ${name}@${ref}`, () => batchPredict(store, { model: name, ref, entities, out }));
      const seconds = (performance.now() - started) / 1000;
      if (io.json) {
        io.out(JSON.stringify({ model: name, version: result.version.version, rows: result.rows, column: result.column, out, seconds }));
      } else {
        io.out(`scored ${result.rows} rows with ${name}@${result.version.version} → ${out} (column ${result.column}, ${seconds.toFixed(1)} s)`);
      }
      return EXIT.ok;
    } finally {
      await store.close();
    }
  },
};
