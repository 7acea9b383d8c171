/**
 * Two jest projects, by speed. `unit` is test/unit/: tests that start no
 * simulator, no router process and no peer, so the whole project runs in
 * seconds (`npm test -- --selectProjects unit`). `integration` is every other
 * test under test/, a new directory included without editing this file.
 * Without --selectProjects both run (the README's test command).
 */
const UNIT_DIR = '<rootDir>/test/unit/';

/** What both projects share. */
const common = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  rootDir: __dirname,
  roots: ['<rootDir>/test'],
  setupFilesAfterEnv: ['<rootDir>/test/setup/fail-on-unhandled-rejection.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
};

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: [`${UNIT_DIR}**/*.test.ts`],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', UNIT_DIR],
      setupFilesAfterEnv: [...common.setupFilesAfterEnv, '<rootDir>/test/setup/integration-timeout.ts'],
    },
  ],
  // The unit tests' limit; the integration project sets its own (test/setup/integration-timeout.ts).
  testTimeout: 10_000,
};
