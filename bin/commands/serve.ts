/**
 * @module commands/serve
 * `larder serve`: the HTTP API (and gRPC when a port is given) for a project, until SIGTERM or
 * SIGINT, which close it gracefully (in-flight requests finish, the prediction log is flushed)
 * and exit 0.
 */
import { startServer } from '../../serving/serve.ts';
import type { Command, CommandContext } from '../command.ts';
import { EXIT, usageError } from '../output.ts';

const USAGE = `Usage: larder serve [--port N] [--host H] [--grpc-port N] [--project DIR] [--json]

Serves the project's online features and models over HTTP: /v1/features, /v1/predict/:model,
/v1/push/:source, the Open Inference Protocol (/v2/...), /healthz, /metrics, /v1/stats and
/docs/openapi.json (docs/http.md). Settings come from the 'serve' key of larder.config.ts, then
LARDER_HOST, LARDER_PORT, LARDER_GRPC_PORT, LARDER_API_KEYS (name:key:scope1+scope2,...), then
these flags. Default address 127.0.0.1:8080; --port 0 picks a free port. SIGTERM or SIGINT
stops it gracefully.`;

function portFlag(values: CommandContext['values'], name: string): number | undefined {
  const text = values[name];
  if (text === undefined) return undefined;
  const port = Number(text);
  if (typeof text !== 'string' || !Number.isInteger(port) || port < 0 || port > 65_535) throw usageError(`--${name} ${String(text)} is not a port\n${USAGE}`);
  return port;
}

export const serveCommand: Command = {
  summary: 'serve features and predictions over HTTP (and gRPC)',
  usage: USAGE,
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    'grpc-port': { type: 'string' },
  },
  async run({ io, projectDir, values }: CommandContext): Promise<number> {
    const port = portFlag(values, 'port');
    const grpcPort = portFlag(values, 'grpc-port');
    const host = typeof values.host === 'string' && values.host.length > 0 ? values.host : undefined;
    const server = await startServer({
      dir: projectDir,
      env: process.env,
      config: { ...(port === undefined ? {} : { port }), ...(grpcPort === undefined ? {} : { grpcPort }), ...(host === undefined ? {} : { host }) },
    });
    if (io.json) io.out(JSON.stringify({ url: server.url, port: server.port, ...(server.grpcPort === undefined ? {} : { grpcPort: server.grpcPort }) }));
    else io.out(`larder serve: listening on ${server.url}${server.grpcPort === undefined ? '' : ` (gRPC on port ${server.grpcPort})`}`);
    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    });
    // A second signal while draining means "now".
    const force = (): void => { process.exit(EXIT.failure); };
    process.once('SIGTERM', force);
    process.once('SIGINT', force);
    io.err(`larder serve: ${signal}, closing (finishing requests, flushing the prediction log)`);
    await server.close();
    io.err('larder serve: closed');
    // Everything is closed; don't let a stray handle keep the process up.
    setTimeout(() => process.exit(EXIT.ok), 1000).unref();
    return EXIT.ok;
  },
};
