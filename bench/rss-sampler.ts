/**
 * Peak resident memory of a process and of everything it started, sampled from /proc (Linux).
 * Every `intervalMs` it lists the process's descendants (from each process's parent id in
 * /proc/<pid>/stat: this kernel may not offer /proc/<pid>/task/<tid>/children) and reads their
 * VmRSS from /proc/<pid>/status. It keeps the root's own peak and the peak of the tree's sum; a
 * sum of RSS counts pages shared between processes (libraries, the Node binary) once per process.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface RssPeaks {
  /** Highest VmRSS of the root process itself, in bytes. */
  rootBytes: number;
  /** Highest VmRSS summed over the root and its descendants at one sample, in bytes. */
  treeBytes: number;
  /** Most processes in the tree at one sample. */
  processes: number;
  samples: number;
}

const none = (): RssPeaks => ({ rootBytes: 0, treeBytes: 0, processes: 0, samples: 0 });

/** The larger of each peak. */
export function maxPeaks(a: RssPeaks, b: RssPeaks): RssPeaks {
  return {
    rootBytes: Math.max(a.rootBytes, b.rootBytes),
    treeBytes: Math.max(a.treeBytes, b.treeBytes),
    processes: Math.max(a.processes, b.processes),
    samples: a.samples + b.samples,
  };
}

function statusField(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined; // Exited between listing and reading.
  }
  const kib = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1];
  return kib === undefined ? undefined : Number(kib) * 1024;
}

/** The kernel's own record of a process's peak RSS (VmHWM), in bytes. */
export function highWaterMark(pid: number): number | undefined {
  return statusField(pid, 'VmHWM');
}

/** The parent id of a process, from /proc/<pid>/stat; undefined once it has exited. */
function parentOf(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid …": comm may hold spaces and parentheses, so read after the last ")".
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

export class TreeRssSampler {
  private peaks = none();
  private timer: NodeJS.Timeout | undefined;
  /** Parent ids of the processes seen so far: each stat file is read once, not at every sample. */
  private readonly parents = new Map<number, number>();

  constructor(
    readonly rootPid: number,
    private readonly intervalMs = 50,
  ) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  /** Takes one sample now. */
  sample(): void {
    const root = statusField(this.rootPid, 'VmRSS');
    if (root === undefined) return;
    const children = this.childrenByParent();
    let tree = root;
    let processes = 1;
    const pending = [...(children.get(this.rootPid) ?? [])];
    for (let pid = pending.pop(); pid !== undefined; pid = pending.pop()) {
      const rss = statusField(pid, 'VmRSS');
      // Zombies and kernel threads have no VmRSS.
      if (rss !== undefined) {
        tree += rss;
        processes += 1;
      }
      pending.push(...(children.get(pid) ?? []));
    }
    this.peaks = {
      rootBytes: Math.max(this.peaks.rootBytes, root),
      treeBytes: Math.max(this.peaks.treeBytes, tree),
      processes: Math.max(this.peaks.processes, processes),
      samples: this.peaks.samples + 1,
    };
  }

  /** Children of every process, by parent id. */
  private childrenByParent(): Map<number, number[]> {
    const alive = new Set<number>();
    const children = new Map<number, number[]>();
    for (const entry of readdirSync('/proc')) {
      const pid = Number(entry);
      if (!Number.isInteger(pid)) continue;
      alive.add(pid);
      let ppid = this.parents.get(pid);
      if (ppid === undefined) {
        ppid = parentOf(pid);
        if (ppid === undefined) continue;
        this.parents.set(pid, ppid);
      }
      const siblings = children.get(ppid);
      if (siblings) siblings.push(pid);
      else children.set(ppid, [pid]);
    }
    for (const pid of this.parents.keys()) if (!alive.has(pid)) this.parents.delete(pid);
    return children;
  }

  /** The peaks since the sampler started or since the last `take`; the next ones start from zero. */
  take(): RssPeaks {
    const peaks = this.peaks;
    this.peaks = none();
    return peaks;
  }

  /** Stops sampling and returns the last peaks. */
  stop(): RssPeaks {
    clearInterval(this.timer);
    this.sample();
    return this.take();
  }
}
