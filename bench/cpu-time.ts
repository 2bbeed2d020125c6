/**
 * CPU time from /proc (Linux), to tell whether a level is bound by the machine's CPUs: a process's
 * own time plus that of its children it has waited for (which is how a worker's short-lived stack
 * runners, Pulumi CLIs and provider hosts end up counted), and the machine's busy time.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticks: number | undefined;
function ticksPerSecond(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

export interface ProcessCpu {
  /** The process's own user + system CPU seconds. */
  own: number;
  /** Its children's that have exited and been waited for (`cutime` + `cstime`, theirs included). */
  children: number;
}

/** CPU seconds of a process and of its finished children; undefined once it has exited. */
export function processCpuSeconds(pid: number | 'self'): ProcessCpu | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after "pid (comm)": state is field 3, utime/stime/cutime/cstime fields 14–17.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number);
  return { own: (utime! + stime!) / ticksPerSecond(), children: (cutime! + cstime!) / ticksPerSecond() };
}

/** CPU seconds the whole machine has spent busy (user, nice, system, irq, softirq) since boot. */
export function machineBusyCpuSeconds(): number {
  const [user, nice, system, , , irq, softirq] = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]!
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return (user! + nice! + system! + irq! + softirq!) / ticksPerSecond();
}

/** Every process's parent id, read from /proc once. */
function parentIds(): Map<number, number> {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      parents.set(pid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // Exited while listing.
    }
  }
  return parents;
}

/**
 * CPU seconds of a process and everything under it: its own and its live descendants' time, and
 * the time of the descendants that have exited and been waited for (a Postgres server's ended
 * backends, a worker's finished children). Undefined once the root has exited.
 */
export function treeCpuSeconds(pid: number): number | undefined {
  const root = processCpuSeconds(pid);
  if (!root) return undefined;
  const parents = parentIds();
  let total = root.own + root.children;
  const under = new Set([pid]);
  // Parents have lower ids as a rule, but not always (pid wrap): go round until nothing is added.
  for (let added = true; added;) {
    added = false;
    for (const [child, parent] of parents) {
      if (under.has(child) || !under.has(parent)) continue;
      under.add(child);
      added = true;
      const cpu = processCpuSeconds(child);
      if (cpu) total += cpu.own + cpu.children;
    }
  }
  return total;
}

/** CPU seconds over some stretch of time: the machine's, this process's, and each named process tree's. */
export type CpuSplit<K extends string> = { wallMs: number; machine: number; self: number } & Record<
  K,
  number
>;

type CpuReading<K extends string> = { at: number; machine: number; self: number } & Record<K, number>;

/** Reads the CPU time of the machine, this process and named process trees (bench/cpu-time.ts). */
export class CpuMeter<K extends string> {
  /** @param trees the root pid of each tree to follow; 0 for one that is not running here. */
  constructor(private readonly trees: Record<K, number>) {}

  now(): CpuReading<K> {
    const reading = {
      at: performance.now(),
      machine: machineBusyCpuSeconds(),
      self: processCpuSeconds('self')!.own,
    } as CpuReading<K>;
    for (const [name, pid] of Object.entries(this.trees) as [K, number][])
      (reading as Record<K, number>)[name] = pid ? (treeCpuSeconds(pid) ?? 0) : 0;
    return reading;
  }

  between(a: CpuReading<K>, b: CpuReading<K>): CpuSplit<K> {
    const split = {
      wallMs: b.at - a.at,
      machine: b.machine - a.machine,
      self: b.self - a.self,
    } as CpuSplit<K>;
    for (const name of Object.keys(this.trees) as K[]) (split as Record<K, number>)[name] = b[name] - a[name];
    return split;
  }
}
