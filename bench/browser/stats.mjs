// The order statistics of bench/bench.go (Median, Percentile) for
// the Node browser benchmark, which cannot call Go. They must give the same
// figures as the Go ones: js/test/bench.test.mjs checks them against the
// cases of bench/bench_test.go.

/**
 * The p-th percentile (0 ≤ p ≤ 100) of xs by the nearest-rank method, or NaN
 * for no samples; as bench.Percentile. xs is not changed.
 * @param {number[]} xs
 * @param {number} p
 */
export function percentile(xs, p) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(Math.max(rank, 1), s.length) - 1];
}

/**
 * The median of xs, averaging the two middle samples of an even count, or
 * NaN for no samples; as bench.Median. xs is not changed.
 * @param {number[]} xs
 */
export function median(xs) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 === 1 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}
