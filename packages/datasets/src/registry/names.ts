/** The data sets a config can name as `"source"` (docs/datasets.md); each is one folder of packages/datasets/data-manifest.json. */
export const DATASET_NAMES = ['kodak24', 'kodak24-96', 'kodak24-256', 'bsd68', 'train400', 'set12', 'shepp-logan'] as const;

export type DatasetName = (typeof DATASET_NAMES)[number];

/** Whether `s` names a data set of the registry. */
export function isDatasetName(s: string): s is DatasetName {
  return (DATASET_NAMES as readonly string[]).includes(s);
}

/** A named data set as a config image source: its files in manifest order, then the same selection and fit as a folder. */
export interface DatasetSource {
  source: DatasetName;
  count?: number;
  offset?: number;
  size?: [number, number];
  fit?: 'resize' | 'crop';
}
