// What a kernel page reports: one line per check (GPU vs the float64 reference), set on window.__result for the
// test and shown in the page for the screenshot.
import { reference } from '@qwen3-webgpu/tensor';

export interface Check {
  name: string;
  /** Relative L2 error and max |gpu − ref| (with max |ref|), over every output element. */
  relL2: number;
  maxAbsError: number;
  maxAbsRef: number;
  /** Outputs still NaN (poisoned before the run and never written) or otherwise non-finite. */
  nonFinite: number;
  /** The acceptance bound on relL2 (and on maxAbsError: bound · max|ref| + atol). */
  bound: number;
  atol: number;
  ok: boolean;
}

export interface PageResult {
  page: string;
  adapter: string;
  seed: number;
  checks: Check[];
  ok: boolean;
  error?: string;
}

/** GPU output vs reference: |err| ≤ bound·max|ref| + atol, relative L2 ≤ bound, every element finite. */
export function check(name: string, got: ArrayLike<number>, want: ArrayLike<number>, bound: number, atol = 0): Check {
  if (got.length !== want.length) throw new RangeError(`${name}: ${got.length} outputs, reference has ${want.length}`);
  let nonFinite = 0;
  for (let i = 0; i < got.length; i++) if (!Number.isFinite(got[i]!)) nonFinite++;
  const relL2 = reference.relativeL2(got, want);
  const { maxAbsError, maxAbsRef } = reference.maxAbsError(got, want);
  const ok = nonFinite === 0 && relL2 <= bound && maxAbsError <= bound * maxAbsRef + atol;
  return { name, relL2, maxAbsError, maxAbsRef, nonFinite, bound, atol, ok };
}

/**
 * GPU sums vs reference sums, each judged against its own Σ|terms| (`scales`): a sum's rounding error is bounded by
 * the magnitude of what was added, not by the result, which cancels towards 0 on random signs and would make any
 * relative bound on the result fail by chance.
 */
export function checkSums(name: string, got: ArrayLike<number>, want: ArrayLike<number>, scales: ArrayLike<number>, bound: number): Check {
  const c = check(name, got, want, bound);
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / scales[i]!);
  // Reported relL2 is the worst per-sum error relative to its Σ|terms| (what the bound applies to).
  return { ...c, relL2: worst, ok: c.nonFinite === 0 && worst <= bound };
}

export function report(page: string, seed: number, run: () => Promise<{ adapter: string; checks: Check[] }>): void {
  const show = (r: PageResult) => {
    (window as unknown as { __result: PageResult }).__result = r;
    const pre = document.createElement('pre');
    pre.textContent =
      `${page}: ${r.ok ? 'PASS' : 'FAIL'} on ${r.adapter} (seed ${seed})\n` +
      r.checks
        .map(
          (c) =>
            `${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: rel L2 ${c.relL2.toExponential(2)}, max err ${c.maxAbsError.toExponential(2)} (max |ref| ${c.maxAbsRef.toExponential(2)}), bound ${c.bound}`,
        )
        .join('\n') +
      (r.error ? `\nerror: ${r.error}` : '');
    document.body.replaceChildren(pre);
  };
  run().then(
    ({ adapter, checks }) => show({ page, adapter, seed, checks, ok: checks.length > 0 && checks.every((c) => c.ok) }),
    (err: unknown) => show({ page, adapter: '?', seed, checks: [], ok: false, error: String((err as Error)?.stack ?? err) }),
  );
}
