/**
 * @module validation/stats
 * The distributions behind the drift tests' p-values: the Kolmogorov distribution (two-sample
 * KS) and the chi-square survival function through the regularized upper incomplete gamma
 * function. Checked against SciPy's values in `stats.test.ts`.
 */

const LANCZOS = [
  676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos, g = 7; relative error ~1e-15). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let a = 0.99999999999980993;
  const t = z + 7.5;
  for (let i = 0; i < LANCZOS.length; i++) a += (LANCZOS[i] as number) / (z + i + 1);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

const EPS = 1e-15;
const TINY = 1e-300;

/** P(a, x) by its series; converges fast for x < a + 1. */
function gammaPSeries(a: number, x: number): number {
  let sum = 1 / a;
  let term = sum;
  for (let n = 1; n < 10_000; n++) {
    term *= x / (a + n);
    sum += term;
    if (Math.abs(term) < Math.abs(sum) * EPS) break;
  }
  return sum * Math.exp(-x + a * Math.log(x) - logGamma(a));
}

/** Q(a, x) by Lentz's continued fraction; converges fast for x ≥ a + 1. */
function gammaQFraction(a: number, x: number): number {
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  return Math.exp(-x + a * Math.log(x) - logGamma(a)) * h;
}

/** The regularized upper incomplete gamma function Q(a, x) = Γ(a, x) / Γ(a). */
export function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  return x < a + 1 ? 1 - gammaPSeries(a, x) : gammaQFraction(a, x);
}

/** P(χ²_df ≥ x). */
export function chiSquareSurvival(x: number, df: number): number {
  if (df <= 0) return 1;
  return gammaQ(df / 2, x / 2);
}

/**
 * The Kolmogorov distribution's survival function Q(λ) = P(K > λ) = 2 Σ (−1)^(j−1) e^(−2j²λ²),
 * with the Jacobi-theta form 1 − (√(2π)/λ) Σ e^(−(2j−1)²π²/(8λ²)) for small λ, where the first
 * series converges slowly.
 */
export function kolmogorovSurvival(lambda: number): number {
  if (lambda <= 0) return 1;
  if (lambda < 1) {
    let sum = 0;
    for (let j = 1; j <= 20; j++) sum += Math.exp(-((2 * j - 1) ** 2) * Math.PI ** 2 / (8 * lambda * lambda));
    return Math.min(1, Math.max(0, 1 - (Math.sqrt(2 * Math.PI) / lambda) * sum));
  }
  let sum = 0;
  for (let j = 1; j <= 100; j++) {
    const term = Math.exp(-2 * j * j * lambda * lambda);
    sum += j % 2 === 1 ? term : -term;
    if (term < 1e-17) break;
  }
  return Math.min(1, Math.max(0, 2 * sum));
}

/**
 * p-value of a two-sample KS statistic `d` between samples of `n` and `m` values, with
 * Stephens' small-sample correction λ = (√nₑ + 0.12 + 0.11/√nₑ)·d, nₑ = nm/(n+m).
 */
export function ksPValue(d: number, n: number, m: number): number {
  if (n === 0 || m === 0) return 1;
  const ne = Math.sqrt((n * m) / (n + m));
  return kolmogorovSurvival((ne + 0.12 + 0.11 / ne) * d);
}

/** Chi-square test of homogeneity of two count vectors over the same bins (bins empty on both sides dropped). */
export function chiSquareTest(a: readonly number[], b: readonly number[]): { statistic: number; df: number; pValue: number } {
  const na = a.reduce((s, x) => s + x, 0);
  const nb = b.reduce((s, x) => s + x, 0);
  const total = na + nb;
  let statistic = 0;
  let bins = 0;
  for (let i = 0; i < a.length; i++) {
    const col = (a[i] ?? 0) + (b[i] ?? 0);
    if (col === 0) continue;
    bins++;
    const ea = (col * na) / total;
    const eb = (col * nb) / total;
    statistic += ((a[i] ?? 0) - ea) ** 2 / ea + ((b[i] ?? 0) - eb) ** 2 / eb;
  }
  const df = Math.max(0, bins - 1);
  if (na === 0 || nb === 0 || df === 0) return { statistic: 0, df, pValue: 1 };
  return { statistic, df, pValue: chiSquareSurvival(statistic, df) };
}
