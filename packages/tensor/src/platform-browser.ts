// Where the GPU object comes from in a page (or any runtime without the "node" condition): navigator.gpu alone.
// The "default" branch of the `#platform` import (package.json `imports`); platform-node.ts is its Node twin.
import { NoAdapterError } from './no-adapter.ts';

export const noAdapterHint =
  'No WebGPU adapter found: this browser has WebGPU but offers no adapter (blocklisted GPU, or WebGPU disabled ' +
  'in its settings); try a current Chrome, Edge or Safari, or Firefox with WebGPU enabled.';

/** Reached only when navigator.gpu is missing: outside Node there is nowhere else to get WebGPU from. */
export async function platformGpu(_flags: readonly string[]): Promise<GPU> {
  throw new NoAdapterError(
    'This JavaScript runtime has no WebGPU (navigator.gpu is missing): use a browser with WebGPU (Chrome/Edge 113+, ' +
      'Safari 26+, Firefox 141+ on Windows) in a secure context (https or localhost).',
  );
}
