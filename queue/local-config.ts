/** A queued cell's config on the worker that runs it (`bench worker --data`). */
import { cellHash } from '../runner/cell-hash.ts';
import type { ChildStart } from './jobs.ts';

export /**
 * The job's config with this machine's data folder (`bench worker --data`): the data are named by
 * content in the hash, so the files there must give the enqueued hash, or it is an error.
 */
function localConfig(start: ChildStart): ChildStart['config'] {
  if (!start.dataPath) return start.config;
  if (start.config.data.path === undefined)
    throw new Error(`--data ${start.dataPath}: this cell reads ${start.config.data.dataset} without a data folder; nothing to replace`);
  const config = { ...start.config, data: { ...start.config.data, path: start.dataPath } };
  const hash = cellHash(config);
  if (hash !== start.hash)
    throw new Error(
      `--data ${start.dataPath}: the files there are not the data this cell was enqueued with (config hash ${hash}, the cell's ${start.hash})`,
    );
  return config;
}
