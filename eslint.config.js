// Lint rules that the type checker does not cover: no `any`, no floating promises, no stray console output in
// the daemon (it logs through Logger, which redacts), and child processes only through argument arrays.
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['dist/**', 'out/**', 'node_modules/**', '.test-tools/**', 'test-results/**', 'bench-results/**', '**/*.js', '**/*.mjs', '!scripts/*.mjs'],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // The build and test scripts are plain Node ES modules: linted with the JavaScript rules (no type information).
    files: ['scripts/*.mjs'],
    languageOptions: {
      sourceType: 'module',
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' },
    },
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'node:child_process', importNames: ['exec', 'execSync'], message: 'Use spawn/execFile with an argument array, never a shell string.' }] }],
    },
  },
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'no-restricted-imports': ['error', { paths: [{ name: 'node:child_process', importNames: ['exec', 'execSync'], message: 'Use spawn/execFile with an argument array, never a shell string.' }] }],
    },
  },
  {
    // node:test's test()/describe() return promises the runner itself awaits.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-floating-promises': 'off' },
  },
  {
    files: ['daemon/**/*.ts'],
    ignores: ['daemon/cli/**', 'daemon/main.ts'],
    rules: { 'no-console': 'error' },
  },
);
