export interface CachedPipeline {
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
}

/** Compiles each (WGSL source, entry point, override constants) variant once per device. */
export class PipelineCache {
  readonly #entries = new Map<string, CachedPipeline>();
  /** How many pipelines were actually compiled (cache misses). */
  compiles = 0;

  constructor(private readonly device: GPUDevice) {}

  get(
    label: string,
    code: string,
    entries: readonly GPUBindGroupLayoutEntry[],
    entryPoint: string,
    constants: Readonly<Record<string, number>>,
  ): CachedPipeline {
    const constantKey = Object.keys(constants).sort().map((k) => `${k}=${constants[k]}`).join(',');
    const key = `${entryPoint}\u0000${constantKey}\u0000${code}`;
    let hit = this.#entries.get(key);
    if (!hit) {
      const module = this.device.createShaderModule({ label, code });
      const layout = this.device.createBindGroupLayout({ label, entries: [...entries] });
      const pipeline = this.device.createComputePipeline({
        label,
        layout: this.device.createPipelineLayout({ label, bindGroupLayouts: [layout] }),
        compute: { module, entryPoint, constants: { ...constants } },
      });
      this.compiles++;
      hit = { pipeline, layout };
      this.#entries.set(key, hit);
    }
    return hit;
  }

  get size(): number {
    return this.#entries.size;
  }
}
