/**
 * How long a Landlord process lives. `npm start` runs the workers and the API as its children; if
 * it is killed outright (SIGKILL, an out-of-memory kill) it cannot stop them, so with
 * `stopWithParent` each child notices that its parent is gone and stops itself as on SIGTERM.
 */
import type { Config } from './index.js';

export function stopWithParent(config: Pick<Config, 'stopWithParent'>, everyMs = 1_000): void {
  if (!config.stopWithParent) return;
  const parent = process.ppid;
  const watch = setInterval(() => {
    // An orphan is handed to init (or a subreaper), so its parent id changes.
    if (process.ppid === parent) return;
    clearInterval(watch);
    process.kill(process.pid, 'SIGTERM');
  }, everyMs);
  watch.unref();
}
