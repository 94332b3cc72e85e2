/**
 * @module serving/predictor/pool-protocol
 * The messages between the inference pool (`pool.ts`) and its threads (`pool-worker.ts`), and
 * which buffers of a message can be transferred instead of copied.
 */
import type { RawTensor } from './session.ts';

/** Main thread → pool thread. */
export type PoolRequest =
  | { readonly op: 'load'; readonly id: number; readonly key: number; readonly what: string; readonly bytes: Uint8Array }
  | { readonly op: 'run'; readonly id: number; readonly key: number; readonly feeds: Readonly<Record<string, RawTensor>>; readonly outputs: readonly string[] }
  | { readonly op: 'release'; readonly id: number; readonly key: number };

/** Pool thread → main thread: the answer to the request with the same `id`. */
export interface PoolReply {
  readonly id: number;
  readonly ok: boolean;
  readonly outputs?: Record<string, RawTensor>;
  readonly cpuSeconds?: number;
  readonly error?: { readonly code?: string; readonly message: string; readonly details?: unknown };
}

/** The buffers of typed-array tensors that belong to them alone (safe to transfer). */
export function transferList(tensors: readonly RawTensor[]): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const { data } of tensors) {
    if (Array.isArray(data)) continue;
    const buffer = data.buffer;
    if (buffer instanceof ArrayBuffer && data.byteOffset === 0 && data.byteLength === buffer.byteLength) out.add(buffer);
  }
  return [...out];
}
