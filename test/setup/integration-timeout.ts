/**
 * The integration project's time limit per test and hook (jest takes
 * `testTimeout` from the global config only, so a project sets its own here).
 * A simulator, a router and a peer start within seconds on an idle machine;
 * the margin is for a shared CI runner. Files that run longer scenarios
 * (bursts, clusters, every event class) call jest.setTimeout themselves.
 */
jest.setTimeout(180_000);
