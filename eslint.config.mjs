// Lint: typed rules everywhere, and workflow determinism enforced in workflows/** (no Node built-ins, no I/O libs).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

export default tseslint.config(
  { ignores: ['node_modules/**', 'trainer/**', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...builtinModules, ...builtinModules.map((m) => `node:${m}`), 'minio', '@temporalio/activity', '@temporalio/worker', '@temporalio/client', 'yaml', 'cron-parser'].map((name) => ({
            name,
            message: 'workflow code must be deterministic: no Node built-ins, I/O clients or worker/client SDK modules',
          })),
          patterns: [
            { group: ['../activities/*', '!../activities/runtime', '!../activities/errors'], message: 'import activities with `import type` only (activities/errors is pure: its NON_RETRYABLE_TYPES is the retry policy)' },
            { group: ['../worker/*', '../client/*', '../cli/*', '../infra/*'], message: 'workflow code must be deterministic' },
          ],
        },
      ],
      'no-restricted-globals': ['error', { name: 'setTimeout', message: 'use sleep() from @temporalio/workflow' }, { name: 'setInterval', message: 'not deterministic' }],
    },
  },
  {
    // Layers: stage implementations and the runtime know nothing of how workers are wired, of the CLI or of the
    // examples; the client talks to Temporal and the store, never to stage internals.
    files: ['activities/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/worker/*', '**/examples/*', '**/examples/**', '**/cli/*', '**/client/*'], message: 'activities must not import the worker wiring, the CLI, the client or the examples' }] },
      ],
    },
  },
  {
    // A kind's spec.ts is data (zod schemas and metadata): schemas/ assembles the pipeline schema from the specs
    // without loading any stage's runtime code, so a spec imports only zod, schemas/ building blocks and other specs.
    files: ['activities/stages/*/spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!zod$|\\.\\./\\.\\./\\.\\./schemas/(common|trainer|stage-kind)$|\\.\\./[\\w-]+/spec$)',
              message: 'a stage spec imports only zod, schemas/common, schemas/trainer, schemas/stage-kind and other kinds\' spec.ts',
            },
          ],
        },
      ],
    },
  },
  {
    // The pipeline schema reads stage kinds from their spec.ts only, never from an implementation.
    files: ['schemas/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '/activities/(?!stages/[\\w-]+/spec$)', message: 'schemas/ may import a stage kind\'s spec.ts, nothing else of activities/' }] },
      ],
    },
  },
  {
    files: ['client/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/activities/stages/**', '!**/activities/stages/types', '**/cli/*'], message: 'the client must not import stage internals or the CLI' }] },
      ],
    },
  },
  {
    // node:test's test() and describe() return promises the runner itself awaits.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', name: ['test', 'describe', 'it', 'suite'], package: 'node:test' }] }] },
  },
);
