// Checkpoint files behind a base URL (a static server, the Hugging Face hub's resolve/main/ URLs): JSON files with one
// GET each; safetensors files with HTTP Range requests, so the loader reads the header first and then streams each
// tensor in staging-sized chunks straight into GPU buffers, never holding a whole file. A file that changes on the
// server while it is read (another Content-Range total, ETag or Last-Modified) is an error, not a mix of versions.
import { WeightsError } from '../errors.ts';
import { truncated, type ByteSource, type CheckpointFiles } from './files.ts';

export interface UrlFilesOptions {
  /** The fetch to use (default globalThis.fetch): a wrapper can add caching, auth or logging. */
  fetch?: typeof fetch;
  /** Extra request headers on every request (e.g. Authorization for gated hub models). */
  headers?: Record<string, string>;
}

/** A server that ignores Range is tolerated for files up to this size (read whole, once, into memory). */
const WHOLE_FILE_LIMIT = 64 << 20;

/** A relative base resolves against the page's address, as a link would. */
function baseUrl(base: string | URL): URL {
  const text = String(base);
  const page = (globalThis as { location?: { href?: string } }).location?.href;
  return new URL(text.endsWith('/') ? text : `${text}/`, page);
}

/** Total size from `Content-Range: bytes 0-0/12345` (also `bytes *\/12345` on 416). */
function rangeTotal(res: Response): number | undefined {
  const m = /\/(\d+)\s*$/.exec(res.headers.get('content-range') ?? '');
  return m ? Number(m[1]) : undefined;
}

/** The server's identity of a file version: its ETag, else its Last-Modified date (undefined when it sends neither). */
function validator(res: Response): string | undefined {
  return res.headers.get('etag') ?? res.headers.get('last-modified') ?? undefined;
}

export function urlFiles(base: string | URL, options: UrlFilesOptions = {}): CheckpointFiles {
  const root = baseUrl(base);
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const path = (file: string) => new URL(file, root).href;

  async function get(url: string, range?: string): Promise<Response> {
    try {
      return await doFetch(url, { headers: { ...options.headers, ...(range ? { Range: range } : {}) } });
    } catch (err) {
      throw new WeightsError(url, `cannot fetch (${(err as Error).message})`);
    }
  }
  const failed = (url: string, res: Response) => new WeightsError(url, `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);

  /** Streams a response body into target; a body longer or shorter than the target is an error. */
  async function fill(url: string, res: Response, target: Uint8Array, offset: number): Promise<void> {
    if (!res.body) {
      const all = new Uint8Array(await res.arrayBuffer());
      if (all.byteLength !== target.byteLength) throw truncated(url, target.byteLength, offset, all.byteLength);
      target.set(all);
      return;
    }
    const reader = res.body.getReader();
    let done = 0;
    for (;;) {
      const { value, done: end } = await reader.read();
      if (end) break;
      if (done + value.byteLength > target.byteLength) {
        await reader.cancel();
        throw new WeightsError(url, `the server sent more than the ${target.byteLength} bytes asked for at offset ${offset}`);
      }
      target.set(value, done);
      done += value.byteLength;
    }
    if (done !== target.byteLength) throw truncated(url, target.byteLength, offset, done);
  }

  return {
    location: root.href,
    path,
    async open(file) {
      const url = path(file);
      const res = await get(url, 'bytes=0-0');
      if (res.status === 404) return undefined;
      if (res.status === 200) {
        // No Range support: fine for a small file, read once; a large one would have to be downloaded whole.
        const length = Number(res.headers.get('content-length') ?? NaN);
        if (!(length <= WHOLE_FILE_LIMIT)) {
          await res.body?.cancel();
          throw new WeightsError(
            url,
            `the server ignores HTTP Range requests (status 200 for bytes=0-0); files over ${WHOLE_FILE_LIMIT >> 20} MiB need a server that supports them`,
          );
        }
        const all = new Uint8Array(await res.arrayBuffer());
        return {
          name: url,
          size: all.byteLength,
          async read(target, offset) {
            const got = all.subarray(offset, offset + target.byteLength);
            if (got.byteLength !== target.byteLength) throw truncated(url, target.byteLength, offset, got.byteLength);
            target.set(got);
          },
        } satisfies ByteSource;
      }
      if (res.status !== 206 && res.status !== 416) throw failed(url, res);
      await res.body?.cancel();
      const size = rangeTotal(res);
      if (size === undefined)
        throw new WeightsError(url, 'the response to a Range request has no readable Content-Range total (a cross-origin server must expose Content-Range)');
      // What the server says identifies this version of the file: every later range must come from the same one.
      const version = validator(res);
      return {
        name: url,
        size,
        async read(target, offset) {
          if (target.byteLength === 0) return;
          if (offset + target.byteLength > size) throw truncated(url, target.byteLength, offset, Math.max(0, size - offset));
          const ranged = await get(url, `bytes=${offset}-${offset + target.byteLength - 1}`);
          const now = rangeTotal(ranged);
          if (now !== undefined && now !== size) {
            await ranged.body?.cancel();
            throw new WeightsError(url, `changed while being read: ${size} bytes when opened, now ${now}`);
          }
          if (version !== undefined && ranged.status === 206 && validator(ranged) !== version) {
            await ranged.body?.cancel();
            throw new WeightsError(url, 'changed while being read: modified after it was opened');
          }
          if (ranged.status !== 206) {
            await ranged.body?.cancel();
            throw ranged.ok ? new WeightsError(url, `the server ignored an HTTP Range request (status ${ranged.status})`) : failed(url, ranged);
          }
          await fill(url, ranged, target, offset);
        },
      } satisfies ByteSource;
    },
    async text(file) {
      const url = path(file);
      const res = await get(url);
      if (res.status === 404) return undefined;
      if (!res.ok) throw failed(url, res);
      return res.text();
    },
  };
}
