import { BilevelError } from '@bilevel/core';

/** A file whose SHA-256 is not the manifest's: nothing was kept in the cache. */
export class ChecksumError extends BilevelError {
  constructor(readonly file: string, readonly expected: string, readonly got: string, from: string, fix: string) {
    super(`${file} from ${from}: SHA-256 ${got}, expected ${expected} (nothing was kept in the cache)`, fix);
  }
}

/** A download that failed: `notFound` when the server (or a local mirror) has no such file. */
export class DownloadError extends BilevelError {
  constructor(readonly url: string, readonly reason: string, readonly notFound: boolean, readonly attempts: number) {
    super(`download of ${url} failed${attempts > 1 ? ` after ${attempts} tries` : ''}: ${reason}`);
  }
}

/** A named data set that is not in the cache and could not be fetched (or fetching was not allowed). */
export class DataUnavailableError extends BilevelError {
  constructor(readonly dataset: string, readonly reason: string, readonly fix: string, options?: { cause?: unknown }) {
    super(`data set "${dataset}" is unavailable: ${reason}`, fix);
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}
