// Where the GPU object comes from outside a page: in Node, Dawn, through the optional peer dependency `webgpu`.
// Selected by the "node" condition of the `#platform` import (package.json `imports`), so browser bundlers never
// see `import('webgpu')` and a browser install never needs Dawn.
import { NoAdapterError } from './no-adapter.ts';

export const noAdapterHint =
  "No WebGPU adapter found. Dawn needs a Vulkan, Metal or D3D12 driver; on Linux without a GPU install Mesa's " +
  'software Vulkan driver, lavapipe (Debian/Ubuntu: `sudo apt-get install mesa-vulkan-drivers libvulkan1`; Dawn ' +
  'rejects Mesa 22: on Debian 12 enable the bookworm-backports suite and add `-t bookworm-backports`).';

interface Dawn {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

/**
 * Dawn instances, one per flag set, held for the life of the process: adapters and devices must never outlive
 * their instance, and a collected instance crashes Dawn's event processing (ARCHITECTURE.md, "Dawn in Node").
 */
const instances = new Map<string, GPU>();

/** The GPU object when the runtime has no navigator.gpu: a Dawn instance created with `flags`. */
export async function platformGpu(flags: readonly string[]): Promise<GPU> {
  let dawn: Dawn;
  try {
    dawn = (await import('webgpu')) as unknown as Dawn;
  } catch (err) {
    throw new NoAdapterError(
      `WebGPU in Node needs the optional peer dependency 'webgpu' (Dawn): \`npm install webgpu@0.6.2\` ` +
        `(it could not be loaded: ${(err as Error).message})`,
    );
  }
  Object.assign(globalThis, dawn.globals);
  const key = flags.join('\n');
  let gpu = instances.get(key);
  if (!gpu) instances.set(key, (gpu = dawn.create([...flags])));
  return gpu;
}
