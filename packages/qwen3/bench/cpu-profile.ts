// A CPU profile of part of a benchmark (node:inspector, in-process: only the code between start and stop is
// sampled, unlike `node --cpu-prof`, which also takes the load and the warm-up). stop() writes the profile
// (.cpuprofile, for Chrome DevTools or speedscope) and returns a summary: the functions with the most self time.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { basename } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Starts sampling every `intervalUs` µs; stop(file) ends it, writes the profile there, returns the summary. */
export async function startCpuProfile(intervalUs = 50): Promise<{ stop(file: string, top?: number): Promise<string> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: intervalUs });
  await session.post('Profiler.start');
  return {
    async stop(file, top = 30) {
      const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: CpuProfile };
      session.disconnect();
      writeFileSync(file, JSON.stringify(profile));
      return `CPU profile written to ${file}\n${summarize(profile, top)}`;
    },
  };
}

/**
 * Self time per function (name, file:line) and total time (the function anywhere on the stack, counted once a
 * sample), heaviest first, as shares of the sampled time.
 */
export function summarize(profile: CpuProfile, top: number): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const name = (id: number) => {
    const f = byId.get(id)!.callFrame;
    return `${f.functionName || '(anonymous)'} ${f.url ? `${basename(f.url)}:${f.lineNumber + 1}` : ''}`.trim();
  };
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    // A native function (Dawn's bindings) has no name or file: its self time goes under the function that called it.
    const f = byId.get(id)!.callFrame;
    const up = parent.get(id);
    const own = !f.functionName && !f.url && up !== undefined && byId.get(up)!.callFrame.url ? `(native) in ${name(up)}` : name(id);
    self.set(own, (self.get(own) ?? 0) + dt);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) seen.add(name(at));
    for (const key of seen) inclusive.set(key, (inclusive.get(key) ?? 0) + dt);
    total += dt;
  });
  const table = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([key, us]) => `  ${(us / 1000).toFixed(1).padStart(8)} ms ${((100 * us) / total).toFixed(1).padStart(5)} %  ${key}`)
      .join('\n');
  return `${(total / 1000).toFixed(0)} ms sampled; self time:\n${table(self)}\ntotal time (on the stack):\n${table(inclusive)}`;
}
