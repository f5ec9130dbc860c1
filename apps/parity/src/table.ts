// The parity table, as printed.
import type { ParityReport } from './compare.ts';

const e = (x: number) => x.toExponential(2);
const f = (x: number) => x.toPrecision(8);

export function formatReport(r: ParityReport): string {
  const lines = [
    `parity: ${r.model}`,
    `  ours: ${r.backend} (${r.device})  against: ${r.against}  tolerance: relative error ≤ ${e(r.tolerance)}`,
    '',
    '  layer  ours rms         reference rms    rel. error',
  ];
  for (const l of r.layers) {
    const mark = l.ok ? 'ok' : l.layer === r.firstBadLayer ? 'FAIL  ← first bad layer' : 'FAIL';
    lines.push(`  ${String(l.layer).padStart(5)}  ${f(l.ours).padEnd(15)}  ${f(l.ref).padEnd(15)}  ${e(l.relError).padEnd(10)}  ${mark}`);
  }
  if (r.nonFiniteFrom >= 0) lines.push('', `  NaN or ±Inf in our run from layer ${r.nonFiniteFrom} on`);
  lines.push(
    '',
    `  logits at the last prompt position: max abs error ${e(r.logits.maxAbsError)}, relative ${e(r.logits.relError)}  ${r.logits.ok ? 'ok' : 'FAIL'}`,
  );
  const g = r.greedy;
  const greedy =
    g.firstMismatch < 0
      ? `${g.matches}/${g.compared} identical`
      : `${g.matches}/${g.compared} identical, first mismatch at step ${g.firstMismatch}${g.nearTie ? ' after a near-tie (reference margin < 1e-3): not a failure' : ''}`;
  lines.push(`  greedy continuation: ${g.stopped ? `stopped after ${g.compared} steps: ${g.stopped}` : greedy}  ${g.ok ? 'ok' : 'FAIL'}`);
  if (r.nativeDtype) {
    const n = r.nativeDtype;
    lines.push(`  (HF in ${n.dtype}: ${n.matches === n.of ? `all ${n.of}` : `the first ${n.matches} of ${n.of}`} greedy ids equal float32's)`);
  }
  lines.push('', r.pass ? 'PASS' : `FAIL${r.firstBadLayer >= 0 ? `: first bad layer ${r.firstBadLayer}` : ''}`);
  return lines.join('\n');
}
