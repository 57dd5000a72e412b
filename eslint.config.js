// Folders are runtime boundaries: code under workflows/ runs in Temporal's deterministic sandbox,
// so lint keeps Node, the file system, the network and activity implementations out of it, and
// treats a promise nobody awaits there as an error (it would silently drop a timer or activity).
'use strict';

const { builtinModules } = require('node:module');
const { defineConfig, globalIgnores } = require('eslint/config');
const tseslint = require('typescript-eslint');

const NODE_MESSAGE =
  'Workflow code is replayed deterministically and may not use Node built-ins; do this in an activity.';

const nodeBuiltins = builtinModules.filter((name) => !name.startsWith('_'));

module.exports = defineConfig(
  globalIgnores(['node_modules/', '.temporal/', '.data/', 'coverage/', 'dist/', 'definitions/schema/']),
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommended],
    rules: {
      // A leading underscore marks a value left out on purpose (e.g. taken out of a rest spread).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    // core/ is imported by the workflow bundle too, so it keeps the same rules.
    files: ['workflows/**/*.ts', 'core/**/*.ts'],
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: __dirname,
      },
    },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: NODE_MESSAGE })),
          patterns: [{ group: ['node:*'], message: NODE_MESSAGE }],
        },
      ],
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/activities', '**/activities/**'],
              allowTypeImports: true,
              message:
                'Workflows may only `import type` from activities/; call activities through proxyActivities.',
            },
          ],
        },
      ],
      '@typescript-eslint/no-floating-promises': 'error',
    },
  },
  {
    // The compiler is given the activity catalog by its callers; it never reaches into
    // activities/ itself, so the two folders cannot grow a cycle again.
    files: ['compiler/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/activities', '**/activities/**'], message: 'compiler/ takes the activity catalog as an argument; do not import activities/.' }] },
      ],
    },
  },
);
