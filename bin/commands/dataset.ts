import { openStore } from '../../featurestore/store.ts';
import type { Command, CommandContext } from '../command.ts';
import { EXIT, usageError } from '../output.ts';
import { withProgress } from '../progress.ts';

const USAGE = `Usage: larder dataset --entities FILE (--features VIEW:FEATURE,… | --service NAME) --out FILE.parquet
                      [--timestamp-column NAME] [--full-feature-names] [--project DIR] [--json]
       larder dataset --rebuild ID [--out FILE.parquet]

Builds a point-in-time-correct training dataset: every row of the entity file (Parquet or CSV,
with the join keys and an event_timestamp column) gets the feature values as of its time.
The manifest is recorded in the registry; --rebuild ID builds it again and compares contents.`;

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

export const datasetCommand: Command = {
  summary: 'build a point-in-time-correct training dataset (Parquet) with a manifest',
  usage: USAGE,
  options: {
    entities: { type: 'string' },
    features: { type: 'string' },
    service: { type: 'string' },
    out: { type: 'string', short: 'o' },
    'timestamp-column': { type: 'string' },
    'full-feature-names': { type: 'boolean' },
    rebuild: { type: 'string' },
  },
  async run({ io, projectDir, values }: CommandContext): Promise<number> {
    const rebuild = str(values.rebuild);
    const entities = str(values.entities);
    const features = str(values.features)?.split(',').map((f) => f.trim()).filter((f) => f.length > 0);
    const service = str(values.service);
    let out = str(values.out);
    if (rebuild === undefined) {
      if (entities === undefined) throw usageError(`--entities FILE is required\n${USAGE}`);
      if ((features === undefined) === (service === undefined)) throw usageError(`give exactly one of --features and --service\n${USAGE}`);
      if (out === undefined) throw usageError(`--out FILE.parquet is required\n${USAGE}`);
    }
    const store = await openStore({ dir: projectDir });
    try {
      const started = performance.now();
      if (rebuild !== undefined) {
        out ??= `${rebuild}.rebuild.parquet`;
        const target = out;
        const result = await withProgress(io, `rebuilding ${rebuild}`, () => store.rebuildDataset(rebuild, target));
        if (io.json) io.out(JSON.stringify({ id: rebuild, path: result.path, rows: result.rows, contentHash: result.contentHash, identical: result.identical, expected: result.manifest.contentHash }, null, 2));
        else io.out(`${result.identical ? 'Identical' : 'DIFFERENT'}: rebuilt ${rebuild} into ${result.path}: ${result.rows} rows, content hash ${result.contentHash}${result.identical ? '' : ` (recorded ${result.manifest.contentHash})`}`);
        return result.identical ? EXIT.ok : EXIT.failure;
      }
      const manifest = await withProgress(io, 'building dataset', () => store.writeDataset({
        entities: entities as string,
        ...(features === undefined ? {} : { features }),
        ...(service === undefined ? {} : { service }),
        fullFeatureNames: values['full-feature-names'] === true,
        ...(str(values['timestamp-column']) === undefined ? {} : { timestampColumn: str(values['timestamp-column']) as string }),
      }, out as string));
      const seconds = ((performance.now() - started) / 1000).toFixed(2);
      if (io.json) io.out(JSON.stringify(manifest, null, 2));
      else {
        io.out(`Wrote ${manifest.rows.toLocaleString('en-US')} rows to ${manifest.output.path} in ${seconds} s`);
        io.out(`  manifest ${manifest.id}, content hash ${manifest.contentHash}`);
        io.out(`  views: ${manifest.views.filter((v) => v.kind === 'featureView' || v.kind === 'onDemandView').map((v) => `${v.name} v${v.version}`).join(', ')}`);
      }
      return EXIT.ok;
    } finally {
      await store.close();
    }
  },
};
