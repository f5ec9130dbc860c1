// Prompt chunks recorded once per shape and replayed, as decode steps are: a chunk of a row count (and head) seen
// before goes out as recorded DispatchLists — pipelines, bind groups and uniforms made once, the position patched —
// instead of ~280 dispatches encoded afresh through the kernels' JavaScript (H200, Qwen3-0.6B, 512 rows: ~6 ms of host
// work a chunk, against the GPU's ~9 ms, so a slower host left the GPU waiting between command buffers).
import type { DispatchList } from '@qwen3-webgpu/tensor';
import type { SampleStep } from '../kernels/index.ts';
import type { Activations, SetPosition } from './layers.ts';

export interface PromptRecording {
  /** One list a command buffer, in order. */
  lists: DispatchList[];
  setPosition: SetPosition;
  /** The pick of the next id, for chunks that end in one. */
  sample: SampleStep | undefined;
}

/** Shapes remembered as seen once (a shape is recorded the second time it comes); the set restarts past this. */
const SEEN_LIMIT = 256;

/** The recordings of one model's prompt chunks, least recently used dropped past `limit` (0: none kept). */
export class PromptRecordings {
  readonly #recorded = new Map<string, PromptRecording>(); // least recently used first
  readonly #seen = new Set<string>();
  /** The activations every recording binds: a new set (a longer chunk grew them) drops them all. */
  #act: Activations | undefined;

  constructor(readonly limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`promptRecordings must be a non-negative integer, got ${limit}`);
  }

  /**
   * The recording of `key` over `act`, patched to start at pos0; undefined where there is none, or where its setters
   * refuse pos0 (flash attention's key splits are fixed when recorded: a later position may need more; it is
   * dropped, and the shape counts as unseen again: recorded anew only if it comes twice more).
   */
  take(key: string, act: Activations, pos0: number): PromptRecording | undefined {
    if (act !== this.#act) {
      this.clear();
      this.#act = act;
    }
    const r = this.#recorded.get(key);
    if (!r) return undefined;
    try {
      r.setPosition(pos0);
    } catch (err) {
      this.forget(key);
      if (err instanceof RangeError) return undefined;
      throw err;
    }
    // Most recently used last.
    this.#recorded.delete(key);
    this.#recorded.set(key, r);
    return r;
  }

  /**
   * Whether a chunk of this key, not found by take(), should be recorded now: it has been seen before (and not
   * dropped since, so that more shapes in turn than the limit encode as they go instead of recording every time).
   */
  shouldRecord(key: string): boolean {
    if (this.limit === 0) return false;
    if (this.#seen.has(key)) return true;
    if (this.#seen.size >= SEEN_LIMIT) this.#seen.clear();
    this.#seen.add(key);
    return false;
  }

  /** Keeps a recording made over `act` (the set take() was last given), dropping the least recently used past the limit. */
  put(key: string, act: Activations, r: PromptRecording): void {
    if (act !== this.#act) throw new Error(`prompt recording ${key}: recorded over activations other than the current ones`);
    this.forget(key);
    for (const old of this.#recorded.keys()) {
      if (this.#recorded.size < this.limit) break;
      this.forget(old);
    }
    this.#recorded.set(key, r);
    this.#seen.add(key);
  }

  /** Drops the recording of `key` (its chunk failed on the GPU, say) and counts the shape as unseen. */
  forget(key: string): void {
    const r = this.#recorded.get(key);
    if (r) destroy(r);
    this.#recorded.delete(key);
    this.#seen.delete(key);
  }

  /** Destroys every recording. */
  clear(): void {
    for (const r of this.#recorded.values()) destroy(r);
    this.#recorded.clear();
  }
}

function destroy(r: PromptRecording): void {
  for (const list of r.lists) list.destroy();
}
