import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'tmp/**',
      'dist/**',
      'node_modules/**',
      '.gpu/**',
      '.bench-build/**',
      '.perf/**',
      '.work/**',
      'public/**',
      'tools/**/*.py',
    ],
  },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
