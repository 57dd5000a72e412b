/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  testTimeout: 60000,
  // Temporal's native runtime (shared by every worker in the process) keeps the event loop
  // alive after the last test; nothing else is left running.
  forceExit: true,
  setupFiles: ['<rootDir>/test/support/jest-setup.ts'],
};
