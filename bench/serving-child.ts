/**
 * @module bench/serving-child
 * One server of `bench/serving.ts`, in its own process so that the load generator and the
 * server do not share an event loop: `bare` (a Fastify POST route that parses the body and
 * answers a constant, the ceiling) or `larder` (`startServer` on a project folder, with the
 * serve config given as JSON in `LARDER_BENCH_CONFIG`). Talks to its parent over IPC:
 * `{ type: 'ready', port }` once listening; on `lag-reset` / `lag-read` it resets or reports its
 * event-loop delay (p50/p99/max in ms, from `monitorEventLoopDelay`) and its CPU time; on `batches` it reports
 * rows and runs per model from the Prometheus registry; on `stop` it closes and exits.
 *
 *   node --import tsx bench/serving-child.ts bare|larder [projectDir]
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import Fastify from 'fastify';
import { startServer, type RunningServer } from '../serving/serve.ts';

type ParentMessage = { type: 'lag-reset' | 'lag-read' | 'batches' | 'stop' };

const [kind, dir] = process.argv.slice(2);
const lag = monitorEventLoopDelay({ resolution: 1 });
lag.enable();
/** This process's CPU time since the last `lag-reset`: server CPU per request is the throughput limit. */
let cpuSince = process.cpuUsage();

async function start(): Promise<{ port: number; close(): Promise<void>; server?: RunningServer }> {
  if (kind === 'bare') {
    const app = Fastify({ logger: false });
    app.post('/bare', async () => ({ ok: true }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    return { port: typeof address === 'object' && address !== null ? address.port : 0, close: () => app.close() };
  }
  if (kind === 'larder' && dir !== undefined) {
    const config = JSON.parse(process.env['LARDER_BENCH_CONFIG'] ?? '{}') as Record<string, unknown>;
    const server = await startServer({ dir, config: { host: '127.0.0.1', port: 0, ...config }, logger: false });
    return { port: server.port, close: () => server.close(), server };
  }
  throw new Error(`usage: serving-child.ts bare|larder [projectDir], got ${process.argv.slice(2).join(' ')}`);
}

function cpuMsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

const running = await start();
process.on('message', (message: ParentMessage) => {
  void (async () => {
    switch (message.type) {
      case 'lag-reset':
        lag.reset();
        cpuSince = process.cpuUsage();
        process.send?.({ type: 'ok' });
        break;
      case 'lag-read':
        process.send?.({ type: 'lag', p50: lag.percentile(50) / 1e6, p99: lag.percentile(99) / 1e6, max: lag.max / 1e6, cpuMs: cpuMsSince(cpuSince) });
        break;
      case 'batches': {
        const out: Record<string, { rows: number; runs: number }> = {};
        const metric = (await running.server?.metrics.registry.getMetricsAsJSON())?.find((m) => m.name === 'larder_batch_size_rows');
        for (const v of (metric?.values ?? []) as { metricName?: string; labels: Record<string, string | number>; value: number }[]) {
          const model = String(v.labels['model']);
          out[model] ??= { rows: 0, runs: 0 };
          if (v.metricName?.endsWith('_sum')) out[model].rows += v.value;
          if (v.metricName?.endsWith('_count')) out[model].runs += v.value;
        }
        process.send?.({ type: 'batches', batches: out });
        break;
      }
      case 'stop':
        await running.close();
        process.send?.({ type: 'stopped' }, () => process.exit(0));
        break;
    }
  })();
});
process.send?.({ type: 'ready', port: running.port });
