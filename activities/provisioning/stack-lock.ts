/**
 * Stale lock recovery for the file backend: a lock whose owner process is gone (a worker killed
 * mid-update) would block the stack forever. A lock held by a live process, or by another host,
 * is left alone.
 */
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isProcessAlive } from '../processes.js';

interface LockFile {
  pid?: number;
  hostname?: string;
}

/** Lock files of a stack in a `file://` backend; empty for other backends. */
export function stackLockFiles(backendUrl: string, project: string, stack: string): string[] {
  if (!backendUrl.startsWith('file://')) return [];
  const locks = join(fileURLToPath(backendUrl), '.pulumi', 'locks');
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry);
      if (depth > 0 && statSync(path).isDirectory()) walk(path, depth - 1);
      else if (entry.endsWith('.json') && dir.endsWith(join(project, stack))) found.push(path);
    }
  };
  walk(locks, 4);
  return found;
}

/** Removes the stack's locks whose owner process on this host has exited; returns how many. */
export function clearStaleLocks(backendUrl: string, project: string, stack: string): number {
  let cleared = 0;
  for (const file of stackLockFiles(backendUrl, project, stack)) {
    let lock: LockFile;
    try {
      lock = JSON.parse(readFileSync(file, 'utf8')) as LockFile;
    } catch {
      continue;
    }
    if (lock.hostname === hostname() && typeof lock.pid === 'number' && !isProcessAlive(lock.pid)) {
      rmSync(file, { force: true });
      cleared += 1;
    }
  }
  return cleared;
}
