import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { DownloadError } from './errors.js';
import type { FetchOptions } from './settings.js';

type Attempt = { ok: true; bytes: Buffer } | { ok: false; reason: string; retryable: boolean; notFound: boolean };

/** The message of a fetch failure with its cause (undici puts the socket error there). */
function networkReason(e: unknown, timeoutMs: number): string {
  const err = e as Error & { cause?: { code?: string; message?: string; hostname?: string } };
  if (err.name === 'TimeoutError') return `no complete answer within ${timeoutMs / 1000} s`;
  const c = err.cause;
  if (c?.code && ['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ENETUNREACH', 'EHOSTUNREACH'].includes(c.code)) {
    return `${c.code}${c.hostname ? ` ${c.hostname}` : ''} (no network, or the host is unreachable)`;
  }
  if (err.message === 'terminated') return `connection closed before the whole file arrived (${c?.code ?? 'socket closed'})`;
  return c ? `${err.message}: ${c.code ?? c.message ?? String(c)}` : err.message;
}

/** One GET: the whole body, or why not (a body shorter than its Content-Length counts as cut off). */
async function fetchOnce(url: string, timeoutMs: number): Promise<Attempt> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
    if (!res.ok) {
      await res.body?.cancel();
      const s = res.status;
      return { ok: false, reason: `HTTP ${s} ${res.statusText}`, retryable: s >= 500 || s === 429 || s === 408, notFound: s === 404 || s === 410 };
    }
    const bytes = Buffer.from(await res.arrayBuffer());
    const length = res.headers.get('content-length');
    if (length !== null && !res.headers.get('content-encoding') && bytes.length !== Number(length)) {
      return { ok: false, reason: `connection closed after ${bytes.length} of ${length} bytes`, retryable: true, notFound: false };
    }
    return { ok: true, bytes };
  } catch (e) {
    return { ok: false, reason: networkReason(e, timeoutMs), retryable: true, notFound: false };
  }
}

/** A local file (path or file:// URL); a missing one is a not-found DownloadError. */
async function readLocal(location: string): Promise<Buffer> {
  const path = location.startsWith('file:') ? fileURLToPath(location) : location;
  try {
    return await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DownloadError(path, code === 'ENOENT' ? 'no such file' : (e as Error).message, code === 'ENOENT' || code === 'ENOTDIR', 1);
  }
}

/**
 * The bytes at `location` (http(s) URL, file:// URL or local path). HTTP is tried up to `tries` times, waiting
 * backoff·2^(k−1) after the k-th failure, on network errors, timeouts, HTTP 408/429/5xx and cut-off bodies; other HTTP
 * errors fail at once. Throws DownloadError.
 */
export async function fetchBytes(location: string, o: FetchOptions): Promise<Buffer> {
  if (!/^https?:\/\//i.test(location)) return readLocal(location);
  let reason = '';
  for (let attempt = 1; attempt <= o.tries; attempt++) {
    const r = await fetchOnce(location, o.timeoutMs);
    if (r.ok) return r.bytes;
    reason = r.reason;
    if (!r.retryable) throw new DownloadError(location, r.reason, r.notFound, attempt);
    if (attempt < o.tries) await new Promise((done) => setTimeout(done, o.backoffMs * 2 ** (attempt - 1)));
  }
  throw new DownloadError(location, reason, false, o.tries);
}

/** `<mirror>/<folder>/<file>` for a folder path or a URL mirror. */
export function mirrorLocation(mirror: string, folder: string, file: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(mirror)) return `${mirror.replace(/\/+$/, '')}/${encodeURIComponent(folder)}/${encodeURIComponent(file)}`;
  return `${mirror.replace(/[\\/]+$/, '')}/${folder}/${file}`;
}
