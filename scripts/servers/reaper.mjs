#!/usr/bin/env node
// Stops the servers of a process that died without stopping them. Started by that process (`npm
// start`, the test run, the benchmarks) in a process group of its own, with a pipe on stdin. It
// reads lines from the pipe:
//   watch <pid> <signal> <text the process's command line must contain>
//   forget <pid>
// When the pipe closes (its starter exited, however it died), every watched process still running
// what it was started for gets its signal, and SIGKILL 20 s later. Plain Node, no dependencies, so
// that it starts in milliseconds.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

/** pid → { signal, mustContain } */
const watched = new Map();

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => undefined);

function commandLineOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return undefined;
  }
}

function alive(pid, mustContain) {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const cmd = commandLineOf(pid);
  // Without /proc (macOS) the pid alone decides.
  return cmd === undefined ? true : cmd.includes(mustContain);
}

function send(pid, signal) {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

createInterface({ input: process.stdin })
  .on('line', (line) => {
    const [verb, pid, signal, ...rest] = line.split(' ');
    if (verb === 'watch' && Number(pid) > 0)
      watched.set(Number(pid), { signal, mustContain: rest.join(' ') });
    else if (verb === 'forget') watched.delete(Number(pid));
  })
  .on('close', async () => {
    const left = [...watched].filter(([pid, w]) => alive(pid, w.mustContain));
    for (const [pid, w] of left) send(pid, w.signal);
    const killAt = Date.now() + 20_000;
    while (left.some(([pid, w]) => alive(pid, w.mustContain))) {
      if (Date.now() > killAt) {
        for (const [pid, w] of left) if (alive(pid, w.mustContain)) send(pid, 'SIGKILL');
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    process.exit(0);
  });
