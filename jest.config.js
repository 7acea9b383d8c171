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
      testTimeout: 10_000,
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', UNIT_DIR],
      // A simulator, a router and a peer start within seconds on an idle
      // machine; the margin is for a shared CI runner. Files that run longer
      // scenarios (bursts, clusters, every event class) set their own.
      testTimeout: 180_000,
    },
  ],
};
