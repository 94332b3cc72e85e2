/**
 * @module serving/predictor/pool-worker
 * The entry of an inference pool thread (see `pool.ts`): holds onnxruntime sessions by key and
 * runs them on request, off the main event loop. Messages in: `load` (ONNX bytes), `run` (raw
 * feeds, transferred), `release`. Messages out: `{ id, ok, outputs | error, cpuSeconds }`, the
 * output buffers transferred back, with the run's CPU time as the session measured it here.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isLarderError, reasonOf } from '../../errors.ts';
import { openRawSession, type RawSession, type RawTensor } from './session.ts';
import { transferList, type PoolReply, type PoolRequest } from './pool-protocol.ts';

const port = parentPort;
if (port === null) throw new Error('pool-worker.ts runs as a worker thread of serving/predictor/pool.ts');
const threads = (workerData as { threads?: number } | undefined)?.threads ?? 1;
const sessions = new Map<number, Promise<RawSession>>();

function failure(error: unknown): NonNullable<PoolReply['error']> {
  return isLarderError(error)
    ? { code: error.code, message: error.message, ...(error.details === undefined ? {} : { details: error.details }) }
    : { message: reasonOf(error) };
}

async function handle(message: PoolRequest): Promise<{ reply: PoolReply; transfer: ArrayBuffer[] }> {
  switch (message.op) {
    case 'load': {
      const session = openRawSession(message.bytes, message.what, { threads });
      sessions.set(message.key, session);
      await session;
      return { reply: { id: message.id, ok: true }, transfer: [] };
    }
    case 'release': {
      const session = sessions.get(message.key);
      sessions.delete(message.key);
      await (await session?.catch(() => undefined))?.release();
      return { reply: { id: message.id, ok: true }, transfer: [] };
    }
    case 'run': {
      const session = sessions.get(message.key);
      if (session === undefined) throw new Error(`no session ${message.key} in this worker`);
      const ready = await session;
      const { outputs, cpuSeconds } = await ready.run(message.feeds, message.outputs);
      return { reply: { id: message.id, ok: true, outputs, ...(cpuSeconds === undefined ? {} : { cpuSeconds }) }, transfer: transferList(Object.values(outputs) as RawTensor[]) };
    }
  }
}

port.on('message', (message: PoolRequest) => {
  handle(message).then(
    ({ reply, transfer }) => port.postMessage(reply, transfer),
    (error: unknown) => port.postMessage({ id: message.id, ok: false, error: failure(error) } satisfies PoolReply),
  );
});
