// A static file server on 127.0.0.1 for the URL source's tests: GET with optional single-range `Range` (206 with
// Content-Range), 404 for missing files, and counters of requests and bytes sent. `ranges: false` plays a server that
// ignores Range (always 200 with the whole file).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';

export interface TestServer {
  url: string;
  requests: { path: string; range: string | undefined; status: number; bytes: number }[];
  close(): Promise<void>;
}

export async function serveDirectory(dir: string, options: { ranges?: boolean } = {}): Promise<TestServer> {
  const requests: TestServer['requests'] = [];
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = join(dir, normalize(path));
    const range = req.headers.range;
    const log = (status: number, bytes: number) => requests.push({ path, range, status, bytes });
    if (!file.startsWith(dir) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return log(404, 0);
    }
    const all = readFileSync(file);
    // As static servers do: the file's version, so a client can tell that it changed between two ranges.
    res.setHeader('Last-Modified', statSync(file).mtime.toUTCString());
    const m = options.ranges === false ? null : /^bytes=(\d+)-(\d+)$/.exec(range ?? '');
    if (!m) {
      res.writeHead(200, { 'Content-Length': all.byteLength }).end(all);
      return log(200, all.byteLength);
    }
    const begin = Number(m[1]);
    const end = Math.min(Number(m[2]), all.byteLength - 1);
    if (begin >= all.byteLength) {
      res.writeHead(416, { 'Content-Range': `bytes */${all.byteLength}` }).end();
      return log(416, 0);
    }
    const body = all.subarray(begin, end + 1);
    res.writeHead(206, { 'Content-Range': `bytes ${begin}-${end}/${all.byteLength}`, 'Content-Length': body.byteLength }).end(body);
    log(206, body.byteLength);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
