/**
 * @module registry/schemas
 * The shapes of the registry's files, checked on every read: a file that parses as JSON but does
 * not have its shape is as corrupt as one that does not parse, and gets the same error naming it.
 */
import { z } from 'zod';
import { larderError } from '../errors.ts';
import type { DefinitionSpec } from '../featurestore/define/spec.ts';
import type { DatasetManifest, HistoryEntry, RegistryObject } from './types.ts';

/** Bumped when the layout changes incompatibly; readers refuse formats they do not know. */
export const STATE_FORMAT = 1;

const specSchema = z.looseObject({ kind: z.string().min(1), name: z.string().min(1) });

const objectSchema = z.object({
  kind: z.string().min(1),
  name: z.string().min(1),
  version: z.int().positive(),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  spec: specSchema,
  appliedAt: z.string(),
});

export const stateFileSchema = z.object({
  format: z.literal(STATE_FORMAT),
  project: z.string(),
  serial: z.int().nonnegative(),
  appliedAt: z.string().nullable(),
  objects: z.array(objectSchema),
});

const planEntrySchema = z.object({
  action: z.enum(['add', 'change', 'remove', 'unchanged']),
  kind: z.string().min(1),
  name: z.string().min(1),
  fromVersion: z.int().positive().optional(),
  toVersion: z.int().positive().optional(),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  changes: z.array(z.object({ path: z.string(), before: z.unknown(), after: z.unknown() })).optional(),
});

export const historyEntrySchema = z.object({
  serial: z.int().positive(),
  appliedAt: z.string(),
  entries: z.array(planEntrySchema),
  user: z.string().optional(),
  host: z.string(),
});

export const manifestSchema = z.looseObject({
  id: z.string().min(1),
  createdAt: z.string(),
  request: z.unknown(),
  views: z.array(z.looseObject({ kind: z.string().optional(), name: z.string(), version: z.int(), hash: z.string() })),
  sources: z.array(z.unknown()),
  rows: z.number().int().nonnegative(),
  contentHash: z.string(),
  output: z.looseObject({ path: z.string(), format: z.literal('parquet'), bytes: z.number(), sha256: z.string().optional() }),
  columns: z.array(z.looseObject({ name: z.string() })).optional(),
  profile: z.unknown().optional(),
});

export const recordFileSchema = z.object({ key: z.string(), updatedAt: z.string(), value: z.unknown() });

export interface StateFile {
  format: typeof STATE_FORMAT;
  project: string;
  serial: number;
  appliedAt: string | null;
  objects: RegistryObject[];
}

/**
 * Checks `value` against `schema`; a mismatch is LARDER_E_REGISTRY_CORRUPT naming `path` (and
 * `where` inside it, e.g. a line number).
 */
export function checkShape<S extends z.ZodType>(schema: S, value: unknown, path: string, where = ''): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  throw larderError('LARDER_E_REGISTRY_CORRUPT', { path, reason: `${where}${issues.join('; ')}` }, { details: { path, issues } });
}

// The zod output types match these interfaces up to optional-vs-unknown details; the casts
// below are where that is accepted, after the shape has been checked.
export const asState = (value: z.output<typeof stateFileSchema>): StateFile => value as StateFile;
export const asHistoryEntry = (value: z.output<typeof historyEntrySchema>): HistoryEntry => value as HistoryEntry;
export const asManifest = (value: z.output<typeof manifestSchema>): DatasetManifest => value as DatasetManifest;
export const asSpec = (value: z.output<typeof specSchema>): DefinitionSpec => value;
export { specSchema };
