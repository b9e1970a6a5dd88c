/**
 * The e2e project's test timeout. Jest reads `testTimeout` only from the global configuration (20 s
 * here): a project's own `testTimeout` passes validation but jest-circus ignores it. A setup file
 * of the project sets it instead, for every e2e file; a test's own timeout still wins.
 */
jest.setTimeout(60_000);
