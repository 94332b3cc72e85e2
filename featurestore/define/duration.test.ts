import { describe, it, expect } from 'vitest';
import { isLarderError } from '../../errors.ts';
import { parseDuration, formatDuration } from './duration.ts';

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return isLarderError(error) ? error.code : `not a LarderError: ${String(error)}`;
  }
  return undefined;
}

describe('parseDuration', () => {
  it.each([
    ['250ms', 250],
    ['1s', 1_000],
    ['30m', 1_800_000],
    ['2h', 7_200_000],
    ['2d', 172_800_000],
    ['1w', 604_800_000],
    ['0s', 0],
  ])('reads %s as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it('adds up compound durations, telling m from ms', () => {
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('1m5ms')).toBe(60_005);
    expect(parseDuration('1w2d3h4m5s6ms')).toBe(604_800_000 + 2 * 86_400_000 + 3 * 3_600_000 + 4 * 60_000 + 5_000 + 6);
  });

  it('accepts decimals and rounds to whole milliseconds', () => {
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('0.25s')).toBe(250);
    expect(parseDuration('1.5ms')).toBe(2);
  });

  it('ignores surrounding whitespace', () => {
    expect(parseDuration(' 7d ')).toBe(604_800_000);
  });

  it.each(['', '   ', '7', 'd', '7 d', '1h 30m', '-1h', '+1h', '.5h', '1.h', '1y', '1H', '7days', '1h30', 'h1', '1e3s', '1,5h'])(
    'rejects %j with LARDER_E_INVALID_DURATION',
    (text) => {
      expect(codeOf(() => parseDuration(text))).toBe('LARDER_E_INVALID_DURATION');
    },
  );

  it('rejects values that are not text, as plain JavaScript definitions may pass', () => {
    expect(codeOf(() => parseDuration(3600 as unknown as string))).toBe('LARDER_E_INVALID_DURATION');
    expect(codeOf(() => parseDuration(undefined as unknown as string))).toBe('LARDER_E_INVALID_DURATION');
  });

  it('names the bad value in the message', () => {
    expect(() => parseDuration('7 days')).toThrow(/"7 days"/);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [250, '250ms'],
    [1_000, '1s'],
    [90_000, '1m30s'],
    [5_400_000, '1h30m'],
    [172_800_000, '2d'],
    [604_800_000, '1w'],
    [691_200_000, '1w1d'],
    [3_600_001, '1h1ms'],
  ])('writes %d ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('round-trips through parseDuration', () => {
    const samples = [0, 1, 999, 1_000, 59_999, 60_000, 3_599_999, 86_400_000, 604_800_001, 1_234_567_890];
    for (let i = 0; i < 200; i++) samples.push(Math.floor(Math.random() * 4 * 604_800_000));
    for (const ms of samples) expect(parseDuration(formatDuration(ms)), `${ms} → ${formatDuration(ms)}`).toBe(ms);
    for (const text of ['1h30m', '2d', '1w1d1h1m1s1ms', '45s', '7d']) {
      expect(formatDuration(parseDuration(text))).toBe(text === '7d' ? '1w' : text);
    }
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects %d, which has no exact form', (ms) => {
    expect(codeOf(() => formatDuration(ms))).toBe('LARDER_E_INVALID_DURATION');
  });
});
