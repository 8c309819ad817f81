// Lint rules that the type checker does not cover: typescript-eslint's type-checked strict preset on every .ts
// file (no `any`, no floating promises, no conditions that cannot change, no needless assertions), no stray
// console output in the daemon (it logs through Logger, which redacts), and child processes only through
// argument arrays.
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

const noShellStrings = ['error', { paths: [{ name: 'node:child_process', importNames: ['exec', 'execSync'], message: 'Use spawn/execFile with an argument array, never a shell string.' }] }];

export default tseslint.config(
  {
    ignores: ['dist/**', 'out/**', 'node_modules/**', '.test-tools/**', 'test-results/**', 'bench-results/**', '**/*.js', '**/*.mjs', '!scripts/*.mjs'],
  },
  eslint.configs.recommended,
  {
    // The build and test scripts are plain Node ES modules: linted with the JavaScript rules (no type information).
    files: ['scripts/*.mjs'],
    extends: [tseslint.configs.recommended],
    languageOptions: {
      sourceType: 'module',
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' },
    },
    rules: { 'no-restricted-imports': noShellStrings },
  },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.strictTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // `while (true)` with a break inside is a loop, not a forgotten condition; other constant conditions still count.
      '@typescript-eslint/no-unnecessary-condition': ['error', { allowConstantLoopConditions: 'only-allowed-literals' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Counts and flags read naturally in messages (`${count} runs`); objects and undefined still need a String().
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // `() => emitter.fire(x)` is the house's callback style; a void value used anywhere else is still reported.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // Passing on what a catch received is not inventing a non-Error reason; it may be anything a library threw.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      'no-restricted-imports': noShellStrings,
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      // node:test's test()/describe() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': 'off',
      // Tests assert a value's shape first; a `!` after such an assertion fails the test loudly if it is wrong.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Fakes implement the daemon's async interfaces with synchronous bodies; `async` keeps their throws rejections.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['daemon/**/*.ts'],
    ignores: ['daemon/cli/**', 'daemon/main.ts'],
    rules: { 'no-console': 'error' },
  },
);
