/**
 * CPU time from /proc (Linux), to tell whether a level is bound by the machine's CPUs: a process's
 * own time plus that of its children it has waited for (which is how a worker's short-lived stack
 * runners, Pulumi CLIs and provider hosts end up counted), and the machine's busy time.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

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
