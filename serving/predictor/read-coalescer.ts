/**
 * @module serving/predictor/read-coalescer
 * Merges concurrent online reads of the same features (one feature service, or one list of
 * refs) into one read: the reads asked for in the same event-loop turn (requests parsed in one
 * poll phase) leave together on the next turn, as one `getOnlineFeatures` over all their entity
 * rows, and each request gets its own rows back, in order. A single-entity read costs ~2.5× a
 * 16th of a 16-entity one, so under concurrency this is one round trip and one plan lookup per
 * group instead of per request; for a batched model it is the other half of dynamic batching.
 *
 * A merged read that fails on the caller's input (a 4xx: a bad join key in one request) is
 * retried per request, so each request gets its own answer or its own error with its own row
 * numbers; a failure of the store (5xx) is every request's, and each handles it as it would
 * alone (defaults and `degraded`, or 503).
 */
import { isLarderError } from '../../errors.ts';
import type { OnlineFeaturesRequest, OnlineFeaturesResponse } from '../../featurestore/online-read.ts';

/** What every read of a group asks for besides its rows: the same features, named the same way. */
export type ReadShape = Pick<OnlineFeaturesRequest, 'service' | 'features' | 'fullFeatureNames'>;

/** Reads the online features of `entities` (the predictor's read, with its timeout and clock). */
export type ShapedRead = (shape: ReadShape, entities: Record<string, unknown>[]) => Promise<OnlineFeaturesResponse>;

/**
 * The key of reads that can be merged, or undefined for one that cannot (features given as
 * definition objects rather than names).
 */
export function coalesceKey(shape: ReadShape): string | undefined {
  if (shape.features !== undefined && !shape.features.every((f) => typeof f === 'string')) return undefined;
  return `${shape.service ?? ''}\u0000${(shape.features as readonly string[] | undefined)?.join('\u0001') ?? ''}\u0000${shape.fullFeatureNames === true}`;
}

interface Part {
  readonly rows: Record<string, unknown>[];
  readonly resolve: (response: OnlineFeaturesResponse) => void;
  readonly reject: (error: unknown) => void;
}

interface Group {
  readonly shape: ReadShape;
  readonly entities: Record<string, unknown>[];
  readonly parts: Part[];
}

export class ReadCoalescer {
  readonly #read: ShapedRead;
  readonly #maxRows: number;
  readonly #pending = new Map<string, Group>();

  /** `maxRows`: a group that reaches it leaves at once instead of waiting for the turn to end. */
  constructor(read: ShapedRead, maxRows = 256) {
    this.#read = read;
    this.#maxRows = Math.max(1, maxRows);
  }

  /**
   * The online features of `rows`, read together with the other reads of the same `key` (from
   * `coalesceKey`, which must describe `shape`) in this turn.
   */
  read(key: string, shape: ReadShape, rows: Record<string, unknown>[]): Promise<OnlineFeaturesResponse> {
    return new Promise((resolve, reject) => {
      let group = this.#pending.get(key);
      if (group === undefined) {
        group = { shape, entities: [], parts: [] };
        this.#pending.set(key, group);
        const scheduled = group;
        setImmediate(() => this.#flush(key, scheduled));
      }
      for (const row of rows) group.entities.push(row);
      group.parts.push({ rows, resolve, reject });
      if (group.entities.length >= this.#maxRows) this.#flush(key, group);
    });
  }

  #flush(key: string, group: Group): void {
    if (this.#pending.get(key) !== group) return; // already left (full)
    this.#pending.delete(key);
    const { parts, shape } = group;
    if (parts.length === 1) {
      const only = parts[0]!;
      this.#read(shape, only.rows).then(only.resolve, only.reject);
      return;
    }
    this.#read(shape, group.entities).then((response) => {
      let offset = 0;
      for (const part of parts) {
        part.resolve({ features: response.features, rows: response.rows.slice(offset, offset + part.rows.length) });
        offset += part.rows.length;
      }
    }, (error: unknown) => {
      if (isLarderError(error) && error.status < 500) {
        for (const part of parts) this.#read(shape, part.rows).then(part.resolve, part.reject);
      } else {
        for (const part of parts) part.reject(error);
      }
    });
  }
}
