import { spawn } from 'node:child_process';

/**
 * The baseline for Redis write throughput (DESIGN §7): `redis-benchmark -P 64 -r 1000000
 * -n 2000000 -t hset` against the Redis at `url` (database 9), in requests per second.
 */
export async function redisBenchmarkHset(url: string): Promise<number> {
  const target = new URL(url);
  const argv = ['-h', target.hostname, '-p', target.port || '6379', '-P', '64', '-r', '1000000', '-n', '2000000', '-t', 'hset', '-q', '--dbnum', '9'];
  const child = spawn('redis-benchmark', argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  const code = await new Promise<number | null>((resolve, reject) => { child.once('exit', resolve); child.once('error', reject); });
  const rps = Number([...output.matchAll(/HSET: ([\d.]+) requests per second/g)].at(-1)?.[1]);
  if (code !== 0 || !Number.isFinite(rps)) throw new Error(`redis-benchmark failed (${code}): ${output.slice(-500)}`);
  return rps;
}
