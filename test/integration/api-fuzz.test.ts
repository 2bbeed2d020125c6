/**
 * Schemathesis against the real stack: every check, all four phases (stateful following the
 * document's links), a bounded number of examples per operation and a fixed seed, so that a run is
 * repeatable. A failure it finds is a defect of the API or of its OpenAPI document; once fixed, the
 * request that showed it joins the bad-request table.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../config/index.js';
import { Harness } from '../support/harness.js';

/** The schemathesis executable `npm test`'s bootstrap resolved. */
function schemathesisCli(): string {
  const resolved = JSON.parse(readFileSync(join(PROJECT_ROOT, '.tools', 'resolved.json'), 'utf8')) as {
    schemathesis?: string;
  };
  if (!resolved.schemathesis || !existsSync(resolved.schemathesis))
    throw new Error('schemathesis is not installed: run `node scripts/bootstrap.mjs --test` (npm test does)');
  return resolved.schemathesis;
}

describe('Schemathesis against the OpenAPI document', () => {
  let h: Harness;
  let workDir: string;

  beforeAll(async () => {
    h = await Harness.create();
    workDir = mkdtempSync(join(tmpdir(), 'landlord-api-fuzz-'));
  });
  afterAll(async () => {
    await h?.close();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('finds no failure with every check on', async () => {
    const args = [
      '--config-file',
      join(PROJECT_ROOT, 'test', 'api-fuzz', 'schemathesis.toml'),
      'run',
      `${h.baseUrl}/openapi.json`,
      '--header',
      `Authorization: Bearer ${h.keys.get('admin')}`,
      '--phases',
      'examples,coverage,fuzzing,stateful',
      '--max-examples',
      '25',
      '--seed',
      '20261201',
      '--generation-database',
      'none',
      '--request-timeout',
      '20',
      '--workers',
      '1',
      '--no-color',
    ];
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn(schemathesisCli(), args, { cwd: workDir, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (c: Buffer) => (output += c.toString()));
      child.stderr.on('data', (c: Buffer) => (output += c.toString()));
      child.once('error', reject);
      child.once('exit', (code) => resolve({ code, output }));
    });
    // On failure the whole report is the message: every failing request with a curl to replay it.
    expect(code, output).toBe(0);
    expect(output).toMatch(/\d+ passed/);
    expect(output).not.toMatch(/\d+ failures?\b/);
  }, 600_000);
});
