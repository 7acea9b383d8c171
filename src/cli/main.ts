#!/usr/bin/env node
/**
 * vmware-event-router -config PATH [-verbose] [-log-level L] [-log-json]
 * vmware-event-router validate -config PATH
 *
 * Exit codes: 0 after SIGINT/SIGTERM or a valid change of the config file, 1 for a bad config or a fatal start error.
 */
import { setFlagsFromString } from 'node:v8';
import { Command, Option } from 'commander';
import { createLogger, type LogLevel } from '../log/logger';
import type { Router } from '../router';
import { argvProblem, normalizeArgv } from './argv';
import { componentsHelp } from './components-help';
import { HEAP_GROWING_FLAG } from './node-flags';
import { nodeVersionProblem, supportedNodeRange } from './node-version';
import { buildInfo } from './version';

export const DEFAULT_CONFIG = '/etc/vmware-event-router/config';
const SHUTDOWN_DEADLINE_MS = 10_000;

/** Messages hold no secret by construction (config errors never show secret values; peer text is quoted by quotePeer). */
function fail(message: string): never {
  process.stderr.write(message + '\n');
  process.exit(1);
}

/**
 * What SIGINT/SIGTERM do. The handlers are installed first thing (see the end
 * of this file), so that a signal at any point of the start (loading the
 * config, waiting for the first OpenFaaS topic map, up to 30 s) is logged and
 * ends the process with exit code 0; `runRouter` replaces this with the
 * router's clean shutdown as soon as it has a logger.
 */
let onStopSignal = (signal: string): void => {
  process.stderr.write(
    `${new Date().toISOString()} INFO  signal received, exiting before start signal=${signal}\n`,
  );
  process.exit(0);
};

/** SIGHUP is logged and ignored (README): config changes are picked up by the config watcher. */
let onHangup = (): void => undefined;

export const SIGHUP_MESSAGE =
  'SIGHUP received and ignored: the router does not reload on SIGHUP; a changed config file is noticed by itself (a valid change restarts the router)';

async function runRouter(opts: {
  config: string;
  verbose?: boolean;
  logLevel: LogLevel;
  logJson?: boolean;
}): Promise<void> {
  const level: LogLevel = opts.verbose ? 'debug' : opts.logLevel;
  const logger = createLogger({ level, json: !!opts.logJson });
  let router: Router | undefined;
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('signal received', { signal });
    if (!router) {
      // Nothing runs yet (the config is being read or the router built): nothing to clean up.
      logger.info('stopped before the router started');
      process.exit(0);
    }
    router.stop(SHUTDOWN_DEADLINE_MS).then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('shutdown failed', { error: err as Error });
        process.exit(1);
      },
    );
  };
  onStopSignal = shutdown;
  onHangup = () => logger.warn(SIGHUP_MESSAGE, { signal: 'SIGHUP' });
  // Loaded here, not at the top: the V8 flags below are set before the bulk of the code loads.
  const { ConfigError } = await import('../config/load');
  const { loadConfig, parseConfig } = await import('../catalogue');
  const { watchConfigForRestart } = await import('../config/watch');
  const { Router } = await import('../router');
  const { StreamStartError } = await import('../stream/stream');
  let config;
  try {
    config = loadConfig(opts.config);
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
  // A changed config file (e.g. a Kubernetes Secret update): valid → clean exit 0, invalid → logged.
  // Its root CA files are checked too: a restart on a config naming a missing one would not start.
  const { rootCAsOf } = await import('../config/router-entry');
  const configWatch = watchConfigForRestart(opts.config, logger, (text, file) =>
    rootCAsOf(parseConfig(text, file)),
  );
  const { version, commit } = buildInfo();
  logger.info('starting vmware-event-router', { version, commit, config: opts.config });
  // A failed start is an error (the same line for every cause, as docs/troubleshooting.md lists them).
  const couldNotStart: (err: unknown) => never = (err) => {
    logger.error(`vmware-event-router could not start: ${(err as Error).message}`);
    process.exit(1);
  };
  try {
    router = await Router.create(config, { logger });
    // A signal while the router starts (e.g. waiting for the first OpenFaaS topic map) stops it cleanly.
    await router.start();
  } catch (err) {
    if (stopping) return;
    couldNotStart(err);
  }
  if (stopping) return;
  configWatch.onRestart(() => shutdown('configuration change'));
  const running = router;
  try {
    await running.finished;
  } catch (err) {
    // The stream gave up before it ever connected (wrong password, not a vCenter): a failed start.
    const atStart = err instanceof StreamStartError;
    await running.stop(SHUTDOWN_DEADLINE_MS, { quiet: atStart }).catch(() => undefined);
    if (atStart) couldNotStart(err);
    logger.error(`vmware-event-router stopped: ${(err as Error).message}`);
    process.exit(1);
  }
}

export function buildProgram(): Command {
  const { version, commit } = buildInfo();
  const program = new Command('vmware-event-router');
  program
    .description('Routes VMware vCenter events as CloudEvents to the processors listed below')
    .addOption(
      new Option(
        '--config <path>',
        'path to configuration file for metrics, stream source and processor',
      ).default(DEFAULT_CONFIG),
    )
    .option('--verbose', 'print event handling information (same as -log-level debug)')
    .addOption(
      new Option('--log-level <level>', 'log level')
        .choices(['debug', 'info', 'warn', 'error'])
        .default('info'),
    )
    .option('--log-json', 'write logs as JSON lines (to stderr)')
    .version(`commit: ${commit}\nversion: ${version}`, '--version', 'print commit and version')
    .helpOption('-h, --help', 'print this help')
    // Shown as the documents and existing deployments write them: -config, not --config.
    .configureHelp({ optionTerm: (option) => option.flags.replace(/(^|, )--/g, '$1-') })
    .addHelpText(
      'after',
      `\n${componentsHelp()}\n\nLong flags take one dash as in the original router (-config FILE) or two (--config FILE).\n\ncommit: ${commit}\nversion: ${version}`,
    )
    .action(async (opts: { config: string; verbose?: boolean; logLevel: LogLevel; logJson?: boolean }) => {
      await runRouter(opts);
    });
  program
    .command('validate')
    .description('check a configuration file: exit 0 when valid, else print every problem and exit 1')
    .addOption(new Option('--config <path>', 'configuration file').default(DEFAULT_CONFIG))
    .option('--connect', 'also log in to each vCenter and reach each processor, one line each')
    .action(async (opts: { config: string; connect?: boolean }, cmd: Command) => {
      const { ConfigError } = await import('../config/load');
      const { loadConfig } = await import('../catalogue');
      const file =
        (cmd.parent?.opts().config as string | undefined) !== DEFAULT_CONFIG && opts.config === DEFAULT_CONFIG
          ? (cmd.parent?.opts().config as string)
          : opts.config;
      const { RootCAError } = await import('../util/tls');
      const { rootCAsOf } = await import('../config/router-entry');
      let config;
      let rootCAs;
      try {
        config = loadConfig(file);
        // The CA files are part of what the router needs to start: checked here too.
        rootCAs = rootCAsOf(config);
      } catch (err) {
        if (err instanceof ConfigError) fail(err.message);
        if (err instanceof RootCAError) fail(`invalid configuration ${file}: ${err.message}`);
        throw err;
      }
      if (!opts.connect) {
        process.stdout.write(
          `${file}: configuration is valid (the file only; -connect also reaches each peer)\n`,
        );
        const { describeConfig } = await import('./describe');
        for (const line of describeConfig(config)) process.stdout.write(`  ${line}\n`);
        return;
      }
      process.stdout.write(`${file}: configuration is valid; reaching each peer\n`);
      const { checkConnections } = await import('./connect');
      const lines = await checkConnections(config, rootCAs);
      for (const l of lines) process.stdout.write(l.text + '\n');
      process.exit(lines.every((l) => l.ok) ? 0 : 1);
    });
  return program;
}

/**
 * Memory, two V8 flags that bound how far the heap runs ahead of what is live
 * (neither lowers V8's heap limit, so neither can cause an out-of-memory):
 * - without a semi-space size given at start, the young generation's
 *   semi-spaces stay at their initial 1 MB instead of growing to 16 MB (32 MB
 *   of new space, never given back); where we start node ourselves, it is
 *   given (NODE_FLAGS in node-flags.ts: up to 4 MB, for less GC in bursts);
 * - the old generation may grow by 30 % (HEAP_GROWING_FLAG) over what was
 *   live at the last full GC (V8 allows up to 4x): a burst's garbage is
 *   collected sooner.
 * Set at start, before the bulk of the code loads, each unless the operator
 * set it (NODE_OPTIONS or node flags).
 */
function setMemoryFlags(): void {
  const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ');
  if (!/semi[-_]space/.test(given)) setFlagsFromString('--semi-space-growth-factor=1');
  if (!/heap[-_]growing[-_]percent/.test(given)) setFlagsFromString(HEAP_GROWING_FLAG);
}

if (require.main === module) {
  const unsupported = nodeVersionProblem(process.versions.node, supportedNodeRange());
  if (unsupported) fail(`vmware-event-router: ${unsupported}`);
  // Signal handlers first of all (see onStopSignal).
  process.on('SIGINT', () => onStopSignal('SIGINT'));
  process.on('SIGTERM', () => onStopSignal('SIGTERM'));
  process.on('SIGHUP', () => onHangup());
  setMemoryFlags();
  // A rejection nobody handled is a bug: say so and exit 1 so that Kubernetes restarts us.
  process.on('unhandledRejection', (reason) => {
    fail(
      `vmware-event-router: internal error (unhandled promise rejection): ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`,
    );
  });
  const problem = argvProblem(process.argv.slice(2));
  if (problem) fail(`vmware-event-router: ${problem}`);
  buildProgram()
    .parseAsync(normalizeArgv(process.argv))
    .catch((err: unknown) => fail(`vmware-event-router: ${(err as Error).message}`));
}
