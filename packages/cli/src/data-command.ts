import { BilevelError } from '@bilevel/core';
import { dataSettings, datasetEntry, ensureDataset, listDatasets, type DataSettings, type DatasetStatus, type Provenance } from '@bilevel/datasets';

const USAGE = 'bilevel data list | bilevel data fetch <name> [--force]';

/** "5.5 MB" / "139 kB". */
function megabytes(bytes: number): string {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${Math.round(bytes / 1e3)} kB`;
}

/** Whether a data set is in the cache, as `data list` shows it. */
function here(d: DatasetStatus): string {
  if (d.cached === d.files) return 'cached';
  const later = d.origin === 'generated' ? ' (generated on use)' : '';
  return d.cached === 0 ? `not cached${later}` : `${d.cached}/${d.files} cached`;
}

/** `bilevel data list`: every data set with its image count and sizes, total bytes, and whether it is cached. */
function list(s: DataSettings): void {
  const rows = listDatasets(s).map((d) => [d.name, String(d.files), d.sizes.join(', '), megabytes(d.bytes), here(d), d.title]);
  const head = ['name', 'images', 'size (W×H)', 'bytes', 'here', 'what'];
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => '  ' + r.map((c, i) => (i === 1 ? c.padStart(width[i]) : i === r.length - 1 ? c : c.padEnd(width[i]))).join('  ');
  const out = [
    `cache: ${s.cacheDir} (BILEVEL_DATA_DIR)`,
    `mirror: ${s.mirror ?? 'none (BILEVEL_DATA_MIRROR: a folder or URL laid out like ../shared/data, tried before the upstream sources)'}`,
    line(head), ...rows.map(line),
    'get one with `bilevel data fetch <name>`; configs name them as "source" (docs/datasets.md)',
  ];
  process.stdout.write(out.join('\n') + '\n');
}

/** `bilevel data fetch <name> [--force]`: puts every file of a data set in the cache, each checked against the manifest. */
async function fetchOne(name: string, force: boolean, s: DataSettings): Promise<void> {
  const entry = datasetEntry(name, s);
  const t0 = performance.now();
  let done = 0;
  const tty = process.stderr.isTTY;
  const r = await ensureDataset(name, {
    force, verify: true,
    onFile: () => {
      done++;
      if (tty) process.stderr.write(`\r${name}: ${done} file${done === 1 ? '' : 's'} fetched`);
    },
  }, s);
  if (tty && done) process.stderr.write('\n');
  const counts = (Object.entries(r.obtained) as [Provenance, number][]).filter(([, n]) => n > 0);
  const from = counts.map(([k, n]) => `${n} from ${k === 'mirror' ? `the mirror (${s.mirror})` : k === 'upstream' ? 'upstream' : 'the generator'}`).join(', ');
  const seconds = ((performance.now() - t0) / 1000).toFixed(1);
  const what = done ? `fetched ${from}` : 'already cached, every file checked';
  process.stdout.write(`${name}: ${entry.files.length} files in ${r.dir}: ${what} (${seconds} s)\n`);
}

/** `bilevel data list | fetch NAME [--force]`; returns the exit code. */
export async function dataCommand(args: string[], flags: Record<string, string | true>): Promise<number> {
  const [sub, name, ...rest] = args;
  const s = dataSettings();
  if (sub === 'list' && name === undefined) {
    list(s);
    return 0;
  }
  if (sub === 'fetch' && name !== undefined && rest.length === 0) {
    await fetchOne(name, flags.force === true, s);
    return 0;
  }
  throw new BilevelError(`bilevel data: ${sub ? `unknown or incomplete command "${args.join(' ')}"` : 'missing command'}`, `usage: ${USAGE}`);
}
