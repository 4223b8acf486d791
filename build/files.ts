import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Every file under `dir` and its subfolders whose name `keep` accepts, sorted, leaving out the folders
 * named `skip` (src/server is no part of the browser build).
 */
export function filesUnder(dir: string, { skip, keep = () => true }: { skip?: string; keep?: (name: string) => boolean } = {}): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) =>
      entry.isDirectory()
        ? entry.name === skip
          ? []
          : filesUnder(join(dir, entry.name), { skip, keep })
        : keep(entry.name)
          ? [join(dir, entry.name)]
          : [],
    )
    .sort();
}
