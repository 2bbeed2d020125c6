// One linter for the whole tree; workflows/ gets the Temporal sandbox rules on top.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';

const nodeBuiltins = builtinModules.flatMap((m) => [m, `node:${m}`]);

/** The product's folders, bottom layer first. */
const PRODUCT = [
  'domain',
  'workflows',
  'dataplane',
  'registry',
  'config',
  'pulumi',
  'client',
  'activities',
  'api',
  'workers',
];

/** Relative imports of top-level folder `f` from one, two or three levels down. */
const up = (f) => [`../${f}/**`, `../../${f}/**`, `../../../${f}/**`];

/**
 * Lint blocks for one layer: its files may import the folders in `may`, no other product folder;
 * with `builtins: false`, no Node built-in either.
 * `entry` files may also import `entryMay`.
 */
function layer(folder, may, { builtins = true, message, entry = [], entryMay = [] } = {}) {
  const others = (allowed) => PRODUCT.filter((f) => f !== folder && !allowed.includes(f));
  const rule = (allowed) => [
    'error',
    {
      paths: builtins
        ? []
        : nodeBuiltins.map((name) => ({ name, message: message ?? `${folder} cannot use Node built-ins.` })),
      patterns: [
        ...others(allowed).map((f) => ({
          group: up(f),
          message: message ?? `${folder}/ may import ${allowed.join(', ') || 'no other folder'}, not ${f}/.`,
        })),
      ],
    },
  ];
  return [
    { files: [`${folder}/**/*.ts`], ignores: entry, rules: { 'no-restricted-imports': rule(may) } },
    ...(entry.length
      ? [{ files: entry, rules: { 'no-restricted-imports': rule([...may, ...entryMay]) } }]
      : []),
  ];
}

export default tseslint.config(
  { ignores: ['node_modules', 'dist', '.tools', '.data', 'coverage'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  // Layers: each product folder imports only the folders below it. Test, bench and scripts code
  // may import anything.
  ...layer('domain', [], { builtins: false, message: 'domain imports nothing but zod.' }),
  ...layer('dataplane', ['domain']),
  ...layer('registry', ['domain']),
  ...layer('config', ['domain']),
  ...layer('pulumi', ['domain', 'dataplane']),
  // The client starts workflows by their definitions (workflows/definitions.ts), not their code.
  ...layer('client', ['domain', 'config', 'workflows']),
  ...layer('activities', ['domain', 'registry', 'dataplane', 'pulumi', 'client']),
  // The API's process entry reads the configuration and wires what reads export archives (the
  // tenants' keys, activities/); the routes do neither.
  ...layer('api', ['client', 'domain', 'registry'], {
    entry: ['api/main.ts'],
    entryMay: ['config', 'activities'],
  }),
  ...layer('workers', ['activities', 'client', 'config', 'dataplane', 'domain', 'registry', 'workflows']),
  {
    // No import cycle in the product's code (`.js` specifiers name `.ts` files).
    files: PRODUCT.map((f) => `${f}/**/*.ts`),
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createNodeResolver({ extensionAlias: { '.js': ['.ts', '.js'] } })],
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  {
    // Configuration is read in config/ only: everything else is handed what it needs.
    files: PRODUCT.filter((f) => f !== 'config').map((f) => `${f}/**/*.ts`),
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read configuration in config/ and pass it on.' },
      ],
    },
  },
  {
    // Workflows take values from the domain modules they need, never the index: each new workflow
    // evaluates every module it imports, and the index brings zod (test/unit/workflow-bundle.test.ts).
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'Workflows cannot use Node built-ins.' })),
          patterns: [
            ...PRODUCT.filter((f) => !['domain', 'workflows', 'activities'].includes(f)).map((f) => ({
              group: up(f),
              message: `Workflows import domain code and activity types only, not ${f}/.`,
            })),
            {
              group: up('activities'),
              allowTypeImports: true,
              message: 'Workflows import activity types only (import type); no implementations.',
            },
            {
              group: ['../domain/index.js'],
              allowTypeImports: true,
              message:
                'Import values from the domain module itself: the index brings zod into every workflow.',
            },
          ],
        },
      ],
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox.
    files: ['workflows/**/*.ts', 'domain/**/*.ts'],
    rules: {
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'No process or process.env in workflows.' },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly' } },
  },
);
