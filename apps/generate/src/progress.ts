// A one-line progress bar on stderr while weights load; drawn only on a terminal (logs and pipes get nothing).
import type { LoadProgress } from '@qwen3-webgpu/weights';

export interface ProgressBar {
  update(p: LoadProgress): void;
  /** Erases the bar (before another line is printed, or on Ctrl-C); the next update draws it again. */
  clear(): void;
  done(): void;
}

export function progressBar(stream: NodeJS.WriteStream, label: string): ProgressBar {
  // QWEN3_STDERR_IS_TTY: set by tools/run-cli.mjs (`pnpm generate`), which pipes our stderr through its filter.
  const tty = stream.isTTY || (stream === process.stderr && process.env.QWEN3_STDERR_IS_TTY === '1');
  if (!tty) return { update() {}, clear() {}, done() {} };
  let last = -1;
  let drawn = false;
  return {
    update(p) {
      const frac = p.bytesTotal > 0 ? p.bytesDone / p.bytesTotal : 1;
      const pct = Math.floor(frac * 100);
      if (pct === last) return;
      last = pct;
      const width = 30;
      const filled = Math.round(frac * width);
      stream.write(
        `\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(pct).padStart(3)}% ${(p.bytesDone / 1e6).toFixed(0)}/${(p.bytesTotal / 1e6).toFixed(0)} MB`,
      );
      drawn = true;
    },
    clear() {
      if (drawn) stream.write('\r\x1b[K');
      drawn = false;
      last = -1;
    },
    done() {
      this.clear();
    },
  };
}
