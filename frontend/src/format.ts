// Number formatting shared by the editor and the run graph (no store, no network).

/** A metric value short enough for a node footer: 3 decimals, exponent when tiny or huge. */
export function formatMetric(v: unknown): string {
  if (typeof v !== "number") return String(v);
  if (Number.isInteger(v)) return String(v);
  const abs = Math.abs(v);
  if (abs !== 0 && (abs < 0.001 || abs >= 1e6)) return v.toExponential(2);
  return v.toFixed(abs < 10 ? 3 : 2);
}
