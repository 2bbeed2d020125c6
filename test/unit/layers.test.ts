/**
 * The layers hold by themselves: the lint configuration refuses every import across them. Each
 * case lints a small file placed in a folder, as `npm run lint` would.
 */
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../config/index.js';

const eslint = new ESLint({
  cwd: PROJECT_ROOT,
  // The probes are not part of the TypeScript project: parse them without type information.
  overrideConfig: {
    languageOptions: { parserOptions: { projectService: false, project: null } },
    rules: { '@typescript-eslint/no-floating-promises': 'off' },
  },
});

const restrictions = async (file: string, code: string) =>
  (await eslint.lintText(code, { filePath: file }))[0]!.messages
    .filter((m) => m.ruleId === 'no-restricted-imports' || m.ruleId === 'no-restricted-properties')
    .map((m) => m.message);

const value = (from: string) => `import { x } from '${from}';\nexport const y = x;\n`;
const typeOnly = (from: string) => `import type { X } from '${from}';\nexport type Y = X;\n`;

describe('layers', () => {
  it.each([
    ['domain/probe.ts', value('../registry/index.js')],
    ['domain/probe.ts', value('node:crypto')],
    ['workflows/probe.ts', value('../activities/pool/index.js')],
    ['workflows/probe.ts', typeOnly('../registry/index.js')],
    ['workflows/probe.ts', value('node:fs')],
    ['workflows/probe.ts', value('../domain/index.js')],
    ['dataplane/probe.ts', value('../activities/pool/index.js')],
    ['registry/postgres/probe.ts', value('../../api/app.js')],
    ['pulumi/local/probe.ts', value('../../activities/pool/index.js')],
    ['pulumi/probe.ts', value('../registry/index.js')],
    ['api/routes/probe.ts', value('../../activities/pool/index.js')],
    ['api/probe.ts', value('../activities/keys/index.js')],
    ['api/routes/probe.ts', value('../../config/index.js')],
    ['api/probe.ts', value('../workflows/tenant.js')],
    ['activities/pool/probe.ts', value('../../api/app.js')],
    ['activities/probe.ts', value('../workers/process.js')],
    ['config/probe.ts', value('../registry/index.js')],
    ['client/probe.ts', value('../activities/pool/index.js')],
  ])('refuses in %s: %s', async (file, code) => {
    expect(await restrictions(file, code)).toHaveLength(1);
  });

  it.each([
    ['domain/probe.ts', value('./errors.js')],
    ['workflows/probe.ts', typeOnly('../activities/pool/index.js')],
    ['workflows/probe.ts', value('../domain/operation.js')],
    ['workflows/probe.ts', typeOnly('../domain/index.js')],
    ['dataplane/probe.ts', value('../domain/index.js')],
    ['pulumi/local/probe.ts', value('../../dataplane/silo.js')],
    ['activities/pool/probe.ts', value('../../registry/index.js')],
    ['activities/pool/probe.ts', value('../../dataplane/connection.js')],
    ['api/routes/probe.ts', value('../../registry/index.js')],
    ['api/main.ts', value('../config/index.js')],
    ['api/main.ts', value('../activities/keys/index.js')],
    ['workers/probe.ts', value('../activities/pool/index.js')],
    ['scripts/probe.ts', value('../activities/pool/index.js')],
  ])('allows in %s: %s', async (file, code) => {
    expect(await restrictions(file, code)).toEqual([]);
  });

  it('refuses an import cycle', async () => {
    // domain/errors.ts imports nothing; a file that errors.ts would import back is a cycle.
    const messages = (
      await eslint.lintText(value('./index.js'), { filePath: 'domain/errors.ts' })
    )[0]!.messages.map((m) => m.ruleId);
    expect(messages).toContain('import-x/no-cycle');
  });

  it('keeps process.env to config/', async () => {
    const reading = 'export const home = process.env.HOME;\n';
    expect(await restrictions('activities/probe.ts', reading)).toHaveLength(1);
    expect(await restrictions('pulumi/probe.ts', reading)).toHaveLength(1);
    expect(await restrictions('config/probe.ts', reading)).toEqual([]);
  });
});
