// A lost WebGPU device (driver reset, GPU removed, device.destroy()) surfaces as bare DOMExceptions with empty
// messages from whichever call hit it (Dawn rejects pending mapAsync calls when the device goes). The WebGPU backend
// runs its calls through a guard that turns that into one DeviceLostError saying what happened.

export class DeviceLostError extends Error {
  override readonly name = 'DeviceLostError';
}

export interface DeviceLossGuard {
  /** Runs fn (synchronously up to its first await); rejects with DeviceLostError when the device is or was lost. */
  run<T>(fn: () => Promise<T>): Promise<T>;
}

export function guardDeviceLoss(device: GPUDevice): DeviceLossGuard {
  let info: GPUDeviceLostInfo | undefined;
  const lost = device.lost.then((i) => {
    info = i;
  });
  const error = () =>
    new DeviceLostError(`the WebGPU device was lost (${info!.reason}${info!.message ? `: ${info!.message}` : ''}); the model cannot run further`);
  return {
    async run(fn) {
      if (info) throw error();
      try {
        // (No race against device.lost: each race would leave a reaction on that promise for every token.)
        return await fn();
      } catch (err) {
        // The call may fail a moment before device.lost settles: give it that moment to say why.
        if (!info) await Promise.race([lost, new Promise((r) => setTimeout(r, 100))]);
        throw info ? error() : err;
      }
    },
  };
}
