import { defineConfig } from 'vitest/config';
import { suiteNodeFlags } from './test/support/node-flags.ts';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // Each file opens its own migrated database; PGlite instances are memory-hungry, so cap them.
    maxWorkers: 2,
    // Short-lived processes that open PGlite: baseline WebAssembly code only (see node-flags.ts).
    execArgv: suiteNodeFlags,
    // Hang guards, not speed limits: on a loaded 2-core machine a test runs several times slower.
    testTimeout: 300_000,
    hookTimeout: 600_000,
    reporters: ['default'],
    // Test servers are development databases (the local superuser, the public development ring, demo
    // tenants), said explicitly; the one-time development warning would repeat per file.
    env: { NEONHUB_DEVELOPMENT: '1', NEONHUB_QUIET_DEVELOPMENT_WARNINGS: '1' },
  },
});
