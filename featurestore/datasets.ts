/**
 * @module datasets
 * Writing training datasets to Parquet with a manifest in the registry, and rebuilding a
 * dataset from its manifest: the same request, the definitions at the recorded versions, and
 * sources checked against their recorded fingerprints, ending in a content-hash comparison.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { tableFromIPC, tableToIPC } from 'apache-arrow';
import { larderError } from '../errors.ts';
import { newDatasetId, writeFileAtomic, type DatasetManifest } from '../registry/index.ts';
import { appliedObjects } from './applied.ts';
import type { ProjectDefinitions } from './define/project.ts';
import { selectFeatures, type FeatureSelection } from './define/selection.ts';
import { canonicalJson } from './define/spec.ts';
import { classifyEntities } from './offline/entities.ts';
import type { EntityInput, SourceFingerprint } from './offline/store.ts';
import { sha256File, type DatasetContext } from './dataset-context.ts';
import { rebuildProject } from './rebuild-project.ts';

export interface DatasetRequest {
  readonly entities: EntityInput;
  readonly features?: readonly string[];
  readonly service?: string;
  readonly fullFeatureNames?: boolean;
  /** The entity frame's time column; defaults to the project's `entityTimestampColumn`. */
  readonly timestampColumn?: string;
  readonly signal?: AbortSignal;
}

/** How the entity frame of a dataset is recorded, so it can be read again. */
export type EntitiesRecord =
  | { type: 'file'; path: string; size: number; sha256: string }
  | { type: 'sql'; query: string }
  | { type: 'snapshot'; path: string; format: 'arrow' | 'json' };

export interface RecordedRequest {
  entities: EntitiesRecord;
  features?: string[];
  service?: string;
  fullFeatureNames: boolean;
  timestampColumn: string;
}

/**
 * Records the entity input so the dataset can be read again: a file by path and sha256, a query
 * by its text, an in-memory frame as a snapshot in the registry. Classified exactly as the
 * offline store reads it.
 */
async function recordEntities(ctx: DatasetContext, entities: EntityInput, id: string): Promise<EntitiesRecord> {
  const data = classifyEntities(entities, ctx.dir);
  const rel = path.join('datasets', `${id}.entities`);
  switch (data.kind) {
    case 'file': {
      const info = await stat(data.path).catch((cause: unknown) => {
        throw larderError('LARDER_E_INVALID_ENTITIES', { reason: `cannot read ${data.path}` }, { cause });
      });
      return { type: 'file', path: path.relative(ctx.dir, data.path), size: info.size, sha256: await sha256File(data.path) };
    }
    case 'sql':
      return { type: 'sql', query: data.query };
    case 'rows':
      await writeFileAtomic(path.join(ctx.registryDir, `${rel}.json`), rowsToJson(data.rows));
      return { type: 'snapshot', path: `${rel}.json`, format: 'json' };
    case 'arrow':
      await writeFileAtomic(path.join(ctx.registryDir, `${rel}.arrow`), tableToIPC(data.table, 'file'));
      return { type: 'snapshot', path: `${rel}.arrow`, format: 'arrow' };
  }
}

const DATE_PREFIX = '\u0000date:';

/** JSON that keeps Dates: they are written as tagged strings and revived on read. */
export function rowsToJson(rows: readonly Record<string, unknown>[]): string {
  return JSON.stringify(rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v instanceof Date ? `${DATE_PREFIX}${v.toISOString()}` : v]))));
}

function rowsFromJson(text: string): Record<string, unknown>[] {
  return JSON.parse(text, (_k, v: unknown) => (typeof v === 'string' && v.startsWith(DATE_PREFIX) ? new Date(v.slice(DATE_PREFIX.length)) : v)) as Record<string, unknown>[];
}

async function entitiesFromRecord(ctx: DatasetContext, record: EntitiesRecord): Promise<EntityInput> {
  switch (record.type) {
    case 'sql': return { sql: record.query };
    case 'file': {
      const abs = path.resolve(ctx.dir, record.path);
      const sha = await sha256File(abs).catch(() => 'missing');
      if (sha !== record.sha256) {
        throw larderError('LARDER_E_REBUILD_MISMATCH', { id: '', reason: `entity file ${record.path} changed since the dataset was built` });
      }
      return { path: abs };
    }
    case 'snapshot': {
      const file = path.join(ctx.registryDir, record.path);
      return record.format === 'json' ? rowsFromJson(await readFile(file, 'utf8')) : tableFromIPC(await readFile(file));
    }
  }
}

async function fingerprints(ctx: DatasetContext, selection: FeatureSelection): Promise<SourceFingerprint[]> {
  const out: SourceFingerprint[] = [];
  for (const { view } of selection.views) out.push(await ctx.offline.fingerprintSource(view.source));
  return out;
}

export interface WrittenDataset {
  readonly manifest: DatasetManifest;
}

/** Builds the point-in-time dataset into a Parquet file and records its manifest. */
export async function writeDataset(ctx: DatasetContext, request: DatasetRequest, out: string): Promise<DatasetManifest> {
  const selection = selectFeatures(ctx.project, {
    ...(request.features === undefined ? {} : { features: request.features }),
    ...(request.service === undefined ? {} : { service: request.service }),
    fullFeatureNames: request.fullFeatureNames ?? false,
  });
  const views = await appliedObjects(ctx.registry, ctx.project, selection.views.map((v) => v.view), selection.onDemand);
  const id = newDatasetId();
  const timestampColumn = request.timestampColumn ?? ctx.timestampColumn;
  const entities = await recordEntities(ctx, request.entities, id);
  const sources = await fingerprints(ctx, selection);
  const outPath = path.resolve(ctx.dir, out);
  const job = ctx.offline.getHistoricalFeatures({
    project: ctx.project, selection, entities: request.entities, timestampColumn,
    ...(request.signal === undefined ? {} : { signal: request.signal }),
  });
  const written = await job.toParquet(outPath);
  const recorded: RecordedRequest = {
    entities,
    ...(request.features === undefined ? {} : { features: [...request.features] }),
    ...(request.service === undefined ? {} : { service: request.service }),
    fullFeatureNames: selection.fullFeatureNames,
    timestampColumn,
  };
  const manifest: DatasetManifest = {
    id,
    createdAt: new Date().toISOString(),
    request: recorded,
    views,
    sources,
    rows: written.rows,
    contentHash: written.contentHash,
    columns: selection.columns.map((c) => ({ name: c.column, ref: c.ref, dtype: c.dtype.kind })),
    output: { path: outPath, format: 'parquet', bytes: (await stat(outPath)).size, sha256: await sha256File(outPath) },
  } as DatasetManifest;
  await ctx.registry.saveManifest(manifest);
  return manifest;
}

export interface RebuildResult {
  readonly manifest: DatasetManifest;
  readonly path: string;
  readonly rows: number;
  readonly contentHash: string;
  readonly identical: boolean;
}

function changedSources(recorded: readonly SourceFingerprint[], now: readonly SourceFingerprint[]): string[] {
  const changed: string[] = [];
  for (const before of recorded) {
    const after = now.find((f) => f.source === before.source);
    if (!after || canonicalJson(after) !== canonicalJson(before)) changed.push(before.source);
  }
  return changed;
}

/**
 * Rebuilds a dataset from its manifest into `out` and compares content hashes. Batch views are
 * rebuilt from the registry's specs at the recorded versions; on-demand views must still have
 * the recorded code. Sources must match their recorded fingerprints.
 */
export async function rebuildDataset(ctx: DatasetContext, id: string, out: string, signal?: AbortSignal): Promise<RebuildResult> {
  const manifest = await ctx.registry.getManifest(id);
  const request = manifest.request as RecordedRequest;
  const project = await rebuildProject(ctx, manifest);
  const selection = selectFeatures(project, {
    ...(request.features === undefined ? {} : { features: request.features }),
    ...(request.service === undefined ? {} : { service: request.service }),
    fullFeatureNames: request.fullFeatureNames,
  });
  const now = await fingerprints(ctx, selection);
  const changed = changedSources(manifest.sources as SourceFingerprint[], now);
  if (changed.length > 0) {
    throw larderError('LARDER_E_REBUILD_MISMATCH', { id, reason: `source(s) ${changed.join(', ')} changed since it was built` }, {
      details: { recorded: manifest.sources, current: now },
    });
  }
  let entities: EntityInput;
  try {
    entities = await entitiesFromRecord(ctx, request.entities);
  } catch (error) {
    if ((error as { code?: string }).code === 'LARDER_E_REBUILD_MISMATCH') {
      throw larderError('LARDER_E_REBUILD_MISMATCH', { id, reason: (error as Error).message.replace(/^.*?: /, '') });
    }
    throw error;
  }
  const outPath = path.resolve(ctx.dir, out);
  const job = ctx.offline.getHistoricalFeatures({
    project, selection, entities, timestampColumn: request.timestampColumn,
    ...(signal === undefined ? {} : { signal }),
  });
  const written = await job.toParquet(outPath);
  return { manifest, path: outPath, rows: written.rows, contentHash: written.contentHash, identical: written.contentHash === manifest.contentHash && written.rows === manifest.rows };
}
