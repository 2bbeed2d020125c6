/**
 * How long a Landlord process lives. `npm start` runs the workers and the API as its children; if
 * it is killed outright (SIGKILL, an out-of-memory kill) it cannot stop them, so with `parentPid`
 * each child notices that its parent is gone and stops itself as on SIGTERM.
 */
import type { Config } from './index.js';

export function stopWithParent(config: Pick<Config, 'parentPid'>, everyMs = 1_000): void {
  const expected = config.parentPid;
  if (!expected) return;
  const parentGone = () => {
    // An orphan is handed to init (or a subreaper), so its parent id changes.
    if (process.ppid === expected) return;
    clearInterval(watch);
    process.kill(process.pid, 'SIGTERM');
    // Nobody is left to SIGKILL an orphan whose stop hangs.
    setTimeout(() => process.exit(1), 30_000).unref();
  };
  const watch = setInterval(parentGone, everyMs);
  watch.unref();
  // The parent may have died while this process was still loading.
  parentGone();
}
