import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { encodeGray8, type Manifest, type ManifestFile, type Raster8 } from '@bilevel/datasets';

// A loopback HTTP server (127.0.0.1, a free port) serving a generated fixture data set, for the registry tests.

/** How one path answers: its bytes, the first `cuts` requests cut off half-way through the body, or an HTTP status. */
export interface Route {
  body: Buffer;
  cuts?: number;
  status?: number;
}

export interface FixtureServer {
  url: string;
  routes: Map<string, Route>;
  /** Every request's path, in order. */
  hits: string[];
  close: () => Promise<void>;
}

/** Starts the server; a path without a route answers 404. */
export async function startServer(routes = new Map<string, Route>()): Promise<FixtureServer> {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(req.url ?? '/');
    hits.push(path);
    const r = routes.get(path);
    if (!r || r.status) {
      res.writeHead(r?.status ?? 404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': r.body.length });
    if (r.cuts && r.cuts > 0) {
      r.cuts--;
      res.write(r.body.subarray(0, Math.floor(r.body.length / 2)), () => res.destroy());
      return;
    }
    res.end(r.body);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  const close = () => new Promise<void>((done) => {
    server.closeAllConnections();
    server.close(() => done());
  });
  return { url: `http://127.0.0.1:${port}`, routes, hits, close };
}

/** A port that nothing listens on (bound, then released): connections to it are refused, as with no network. */
export async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((done) => s.listen(0, '127.0.0.1', done));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((done) => s.close(() => done()));
  return port;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A gray test image: a ramp plus the image's index, so that every file differs. */
function fixtureImage(k: number, width: number, height: number): Raster8 {
  const data = new Uint8Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + k * 31) % 256;
  return { width, height, channels: 1, data };
}

/** `n` PNGs (fix-0.png …) and a manifest of one byte-copy data set "fixture" whose upstream is `upstream`/up/<file>. */
export function fixtureSet(n: number, upstream: string): { files: Map<string, Buffer>; manifest: Manifest } {
  const files = new Map<string, Buffer>();
  const entries: ManifestFile[] = [];
  for (let k = 0; k < n; k++) {
    const name = `fix-${k}.png`;
    const body = encodeGray8(fixtureImage(k, 12 + k, 10));
    files.set(name, body);
    entries.push({ name, size: body.length, sha256: sha256(body), width: 12 + k, height: 10, url: `${upstream}/up/${name}` });
  }
  const manifest: Manifest = {
    version: 1,
    datasets: [{ name: 'fixture', folder: 'Fixture', title: 'generated test images', origin: 'copy', terms: 'test data', files: entries }],
  };
  return { files, manifest };
}
