// Node or browser: `#platform` (package.json `imports`) is platform-node.ts under the "node" condition, else
// platform-browser.ts.
import { noAdapterHint, platformGpu } from '#platform';
import { NoAdapterError } from './no-adapter.ts';
import { PipelineCache } from './pipeline-cache.ts';
import { UniformArena } from './uniform-arena.ts';

export { NoAdapterError };

export interface GpuContextOptions {
  /** Dawn instance flags for Node, e.g. 'enable-dawn-features=vulkan_enable_f16_on_nvidia'. Ignored in browsers. */
  dawnFlags?: readonly string[];
  /**
   * Node (Dawn): also enable Dawn's `allow_unsafe_apis` and `vulkan_enable_f16_on_nvidia`, so that an adapter with
   * tensor cores offers 'chromium-experimental-subgroup-matrix' and 'shader-f16' (@qwen3-webgpu/matmul's tensor-core
   * GEMM needs both). Default: true when the environment variable QWEN3_WEBGPU_TENSOR_CORES is '1'. Browsers decide
   * for themselves.
   */
  tensorCores?: boolean;
  powerPreference?: GPUPowerPreference;
  /** Optional features to leave off even when present (to test fallback paths). */
  disableFeatures?: readonly GPUFeatureName[];
  /** Uniform slots (one per dispatch) available between two submits. Default 4096. */
  uniformSlots?: number;
  /** Use this GPU object instead of navigator.gpu / Dawn (tests, embedding). */
  gpu?: GPU;
  /** Lower the workgroups-per-dimension bound used to spread dispatches over 2-D grids (tests of that path). */
  maxWorkgroupsPerDimension?: number;
  /**
   * Which work layout kernels with two of them use: 'gpu' (lanes of a workgroup share a row and meet at barriers),
   * 'cpu' (an invocation walks a row alone; fastest where invocations are SIMD lanes of a CPU core). Default 'auto':
   * 'cpu' on fallback (software) adapters such as lavapipe, else 'gpu'. Tests force each to cover both.
   */
  kernelLayout?: 'auto' | KernelLayout;
}

export type KernelLayout = 'gpu' | 'cpu';

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  subgroupMinSize: number;
  subgroupMaxSize: number;
  /** A CPU implementation (lavapipe, SwiftShader). */
  isFallbackAdapter: boolean;
  /** Tensor-core shapes offered through 'chromium-experimental-subgroup-matrix' (adapter.info.subgroupMatrixConfigs);
   * empty without the feature. */
  subgroupMatrixConfigs: readonly SubgroupMatrixConfig[];
}

export interface SubgroupMatrixConfig {
  componentType: string;
  resultComponentType: string;
  M: number;
  N: number;
  K: number;
}

export interface GpuFeatures {
  subgroups: boolean;
  timestampQuery: boolean;
  shaderF16: boolean;
  /** 'chromium-experimental-subgroup-matrix' (Dawn with allow_unsafe_apis; configs in info.subgroupMatrixConfigs). */
  subgroupMatrix: boolean;
}

export interface GpuContext {
  readonly device: GPUDevice;
  readonly adapter: GPUAdapter;
  readonly info: AdapterSummary;
  readonly limits: GPUSupportedLimits;
  readonly features: GpuFeatures;
  /** Workgroups per grid dimension before a dispatch goes 2-D (the device limit unless lowered by options). */
  readonly maxWorkgroupsPerDimension: number;
  /** The work layout of kernels that have two (GpuContextOptions.kernelLayout, resolved). */
  readonly kernelLayout: KernelLayout;
  readonly pipelines: PipelineCache;
  readonly uniforms: UniformArena;
  /** The GPU instance the adapter came from, kept referenced for the context's life. */
  readonly instance: unknown;
  /** One line naming the adapter, for logs. */
  describe(): string;
  /**
   * Encodes one compute pass through `encode` (then `afterPass`, e.g. copies into a readback buffer, in the same
   * command buffer), uploads this pass's uniforms and submits once; rejects on GPU validation errors.
   */
  run(encode: (pass: GPUComputePassEncoder) => void, label?: string, afterPass?: (encoder: GPUCommandEncoder) => void): Promise<void>;
  /** Same as run, but returns once submitted (no validation check, no wait); for generation loops. */
  submit(encode: (pass: GPUComputePassEncoder) => void, label?: string, afterPass?: (encoder: GPUCommandEncoder) => void): void;
  destroy(): void;
}

const SUBGROUP_MATRIX = 'chromium-experimental-subgroup-matrix' as GPUFeatureName;
const OPTIONAL_FEATURES: readonly GPUFeatureName[] = ['subgroups', 'timestamp-query', 'shader-f16', SUBGROUP_MATRIX];

interface GpuProvider {
  gpu: GPU;
  /** The GPU instance: must stay referenced while any adapter/device lives (ARCHITECTURE.md, "Dawn in Node"). */
  keepAlive: unknown;
}

async function loadGpu(options: GpuContextOptions): Promise<GpuProvider> {
  if (options.gpu) return { gpu: options.gpu, keepAlive: options.gpu };
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return { gpu: nav.gpu, keepAlive: nav.gpu };
  const gpu = await platformGpu(dawnFlagsOf(options));
  return { gpu, keepAlive: gpu };
}

const TENSOR_CORE_FEATURES = ['allow_unsafe_apis', 'vulkan_enable_f16_on_nvidia'];

/** options.dawnFlags, with the tensor-core features merged into its enable-dawn-features list when asked for. */
function dawnFlagsOf(options: GpuContextOptions): string[] {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const flags = [...(options.dawnFlags ?? [])];
  if (!(options.tensorCores ?? env?.QWEN3_WEBGPU_TENSOR_CORES === '1')) return flags;
  const i = flags.findIndex((f) => f.startsWith('enable-dawn-features='));
  if (i < 0) return [...flags, `enable-dawn-features=${TENSOR_CORE_FEATURES.join(',')}`];
  const have = flags[i]!.slice('enable-dawn-features='.length).split(',').filter(Boolean);
  flags[i] = `enable-dawn-features=${[...new Set([...have, ...TENSOR_CORE_FEATURES])].join(',')}`;
  return flags;
}

export async function createGpuContext(options: GpuContextOptions = {}): Promise<GpuContext> {
  const provider = await loadGpu(options);
  const adapter = await provider.gpu.requestAdapter(options.powerPreference ? { powerPreference: options.powerPreference } : undefined);
  if (!adapter) throw new NoAdapterError(noAdapterHint);

  const disabled = new Set(options.disableFeatures ?? []);
  const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f) && !disabled.has(f));
  // Ask for the adapter's own limits: the defaults (128 MiB bindings, 16 KiB workgroup storage) are far below
  // what real GPUs allow.
  const requiredLimits: Record<string, number> = {};
  for (const key in adapter.limits) {
    const value = (adapter.limits as unknown as Record<string, unknown>)[key];
    if (typeof value === 'number') requiredLimits[key] = value;
  }
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredFeatures, requiredLimits, label: 'qwen3-webgpu' });
  } catch (err) {
    throw new NoAdapterError(`the WebGPU adapter refused a device: ${(err as Error).message}`);
  }
  const i = adapter.info;
  const info: AdapterSummary = {
    vendor: i.vendor,
    architecture: i.architecture,
    device: i.device,
    description: i.description,
    subgroupMinSize: (i as { subgroupMinSize?: number }).subgroupMinSize ?? 0,
    subgroupMaxSize: (i as { subgroupMaxSize?: number }).subgroupMaxSize ?? 0,
    isFallbackAdapter: (i as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false,
    subgroupMatrixConfigs: requiredFeatures.includes(SUBGROUP_MATRIX)
      ? ((i as { subgroupMatrixConfigs?: readonly SubgroupMatrixConfig[] }).subgroupMatrixConfigs ?? []).map((c) => ({
          componentType: c.componentType,
          resultComponentType: c.resultComponentType,
          M: c.M,
          N: c.N,
          K: c.K,
        }))
      : [],
  };
  const features: GpuFeatures = {
    subgroups: device.features.has('subgroups'),
    timestampQuery: device.features.has('timestamp-query'),
    shaderF16: device.features.has('shader-f16'),
    subgroupMatrix: device.features.has(SUBGROUP_MATRIX),
  };
  const kernelLayout: KernelLayout = options.kernelLayout && options.kernelLayout !== 'auto' ? options.kernelLayout : info.isFallbackAdapter ? 'cpu' : 'gpu';
  const uniforms = new UniformArena(device, options.uniformSlots ?? 4096);
  const pipelines = new PipelineCache(device);
  // Referenced from the context so the instance lives at least as long as it (navigator.gpu or a caller's GPU).
  const keepAlive = provider.keepAlive;
  let destroyed = false;

  const encodePass = (encode: (pass: GPUComputePassEncoder) => void, label?: string, afterPass?: (encoder: GPUCommandEncoder) => void): GPUCommandBuffer => {
    if (destroyed) throw new Error('GpuContext used after destroy()');
    const encoder = device.createCommandEncoder(label ? { label } : undefined);
    const pass = encoder.beginComputePass(label ? { label } : undefined);
    try {
      encode(pass);
    } finally {
      pass.end();
    }
    afterPass?.(encoder);
    uniforms.flush();
    return encoder.finish();
  };

  return {
    device,
    adapter,
    info,
    limits: device.limits,
    features,
    maxWorkgroupsPerDimension: Math.min(device.limits.maxComputeWorkgroupsPerDimension, options.maxWorkgroupsPerDimension ?? Number.POSITIVE_INFINITY),
    kernelLayout,
    pipelines,
    uniforms,
    instance: keepAlive,
    describe() {
      const sg = info.subgroupMinSize ? `, subgroups ${info.subgroupMinSize}-${info.subgroupMaxSize}` : '';
      return (
        `${info.description || info.device || info.vendor} (${info.vendor}/${info.architecture}${sg}, ${kernelLayout} layout, ` +
        `max binding ${device.limits.maxStorageBufferBindingSize} B, features: ${requiredFeatures.join(' ') || 'none'})`
      );
    },
    async run(encode, label, afterPass) {
      device.pushErrorScope('validation');
      device.pushErrorScope('out-of-memory');
      let commands: GPUCommandBuffer;
      try {
        commands = encodePass(encode, label, afterPass);
        device.queue.submit([commands]);
      } finally {
        const oom = await device.popErrorScope();
        const validation = await device.popErrorScope();
        const error = oom ?? validation;
        if (error) throw new Error(`GPU error${label ? ` in ${label}` : ''}: ${error.message}`);
      }
      await device.queue.onSubmittedWorkDone();
    },
    submit(encode, label, afterPass) {
      device.queue.submit([encodePass(encode, label, afterPass)]);
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      uniforms.destroy();
      device.destroy();
    },
  };
}
