// Lint rules. The workflow block is the determinism fence: workflow code runs in Temporal's
// sandbox and is replayed, so it may not reach Node, AWS, activity implementations or local mode.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = builtinModules.flatMap((m) => [m, `node:${m}`]);

// What ships (the worker image: workflows/, activities/, worker/, contracts/) may not reach local mode, which is
// development tooling installed from devDependencies, nor the AGPL-3.0 IAM simulator local mode uses.
const agplImports = {
  group: ['iam-simulate', 'iam-policy', 'iam-utils'].flatMap((p) => [`@cloud-copilot/${p}`, `@cloud-copilot/${p}/*`]),
  message: 'AGPL-3.0: local mode only (a devDependency), never in what we ship.',
};
const localModeImports = {
  group: ['**/local', '**/local/**'],
  message: 'Shipped code may not import local mode: it is development tooling and is not in the worker image.',
};
// A relative path only: a package such as @temporalio/testing is not our folder.
const testingImports = {
  regex: '^(\\.{1,2}/)+testing(/.*)?$',
  message: 'Shipped code may not import testing/: test and bench tooling is not in the worker image.',
};

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'dist/**',
      'container/**',
      '.venv/**',
      'test/sdk/.venv/**',
      'bench/.venvs/**',
      '.local-state/**',
      'coverage/**',
      'infra/cdk.out/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Prettier wraps code at 120 columns but cannot break comments: this keeps them there. A long message or test
    // name may run on rather than be cut mid-sentence (the text a user greps for stays whole).
    files: ['**/*.ts', '**/*.js', '**/*.mjs', '**/*.cjs'],
    rules: {
      'max-len': [
        'error',
        { code: 120, ignoreUrls: true, ignoreRegExpLiterals: true, ignoreStrings: true, ignoreTemplateLiterals: true },
      ],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({
            name,
            message: 'Workflow code must be deterministic: no Node built-ins.',
          })),
          patterns: [
            { group: ['@aws-sdk/*', '@smithy/*'], message: 'Workflows never call AWS; do it in an activity.' },
            {
              group: ['**/activities', '**/activities/*', '**/activities/**'],
              allowTypeImports: true,
              message: 'Import activities with `import type` only.',
            },
            localModeImports,
            testingImports,
            agplImports,
            { group: ['**/worker', '**/worker/**'], message: 'Workflows may not import worker code.' },
            {
              group: ['@temporalio/worker', '@temporalio/client', '@temporalio/activity'],
              message: 'Workflows use @temporalio/workflow only.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['activities/**/*.ts', 'worker/**/*.ts', 'contracts/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [localModeImports, testingImports, agplImports] }] },
  },
  {
    // Local mode judges the product: were it to reuse the product's code (a zip, a matcher, a request builder), it
    // would agree with the product's bugs instead of AWS. Shared facts live in contracts/ or local/shared/.
    files: ['local/service/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/activities', '**/activities/**', '**/workflows', '**/workflows/**'],
              message:
                'Local mode imitates AWS on its own: no product code (activities/, workflows/) in local/service/.',
            },
          ],
        },
      ],
    },
  },
  {
    // Schemas are shared and frozen inside the workflow sandbox (workflows/shared-modules.ts): zod builds a method on
    // the schema at its first read, which a frozen schema refuses, so sandbox code parses with z.safeParse(schema, v).
    files: ['workflows/**/*.ts', 'contracts/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector:
            'CallExpression[callee.type="MemberExpression"]' +
            '[callee.property.name=/^(safeParse|parse|safeParseAsync|parseAsync|spa)$/]' +
            ':not([callee.object.name=/^(JSON|z)$/])',
          message:
            'Use z.safeParse(schema, value) / z.parse(schema, value): schemas are frozen in the workflow sandbox.',
        },
      ],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['**/*.js'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
    languageOptions: {
      sourceType: 'commonjs',
      globals: {
        module: 'writable',
        require: 'readonly',
        __dirname: 'readonly',
        process: 'readonly',
        console: 'readonly',
      },
    },
  },
  {
    // Table-driven spec tests patch loosely typed JSON on purpose.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
