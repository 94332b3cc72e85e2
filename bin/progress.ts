/**
 * @module progress
 * A one-line progress indicator on stderr for long work, drawn only on a terminal.
 */
import type { Io } from './output.ts';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** Runs `work` while showing `label` with a spinner and the elapsed time. */
export async function withProgress<T>(io: Io, label: string, work: () => Promise<T>): Promise<T> {
  if (!io.tty) return work();
  const started = performance.now();
  let frame = 0;
  const draw = (): void => {
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    process.stderr.write(`\r${FRAMES[frame++ % FRAMES.length] ?? ''} ${label} ${seconds}s`);
  };
  draw();
  const timer = setInterval(draw, 100);
  try {
    return await work();
  } finally {
    clearInterval(timer);
    process.stderr.write('\r\x1b[2K');
  }
}
