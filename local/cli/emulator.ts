import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { readSeedFile, startContainerAppsEmulator } from '../containerapps-emulator';

function wholeNumber(name: string, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n > max) {
      throw new InvalidArgumentError(`${name} must be a whole number from 0 to ${max}; got '${value}'`);
    }
    return n;
  };
}

interface CliOptions {
  port: number;
  host: string;
  seed?: string;
  caFile: string;
  provisioningDelay: number;
  lroDuration: number;
}

async function main(argv: string[]): Promise<void> {
  const program = new Command()
    .name('emulator')
    .description(
      'Start the local Container Apps ARM emulator (HTTPS) alone. Revision and app endpoints are plain http on 127.0.0.1.',
    )
    .option('-p, --port <port>', 'HTTPS port (0 = any free port)', wholeNumber('--port', 65535), 8443)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option(
      '-s, --seed <file.json>',
      'apps to create at start (see local/containerapps-emulator/seed.example.json)',
    )
    .option(
      '--ca-file <path>',
      'where to write the CA certificate (PEM) clients must trust',
      '.greenlight/emulator-ca.pem',
    )
    .option(
      '--provisioning-delay <ms>',
      'how long a new revision stays Provisioning',
      wholeNumber('--provisioning-delay', 3_600_000),
      2000,
    )
    .option(
      '--lro-duration <ms>',
      'how long a PUT/PATCH operation stays InProgress',
      wholeNumber('--lro-duration', 600_000),
      500,
    )
    .showHelpAfterError();
  program.parse(argv);
  const opts = program.opts<CliOptions>();

  const seed = opts.seed ? await readSeedFile(resolve(opts.seed)) : [];
  const caFile = resolve(opts.caFile);
  const emulator = await startContainerAppsEmulator({
    port: opts.port,
    host: opts.host,
    seed,
    caFile,
    provisioningDelayMs: opts.provisioningDelay,
    lroDurationMs: opts.lroDuration,
  });

  const lines = [
    `Container Apps emulator listening on ${emulator.url}`,
    `CA certificate: ${caFile}`,
    ...emulator
      .state()
      .apps.map(
        (a) =>
          `  app ${a.resourceGroup}/${a.name}: revision ${a.latestRevisionName ?? '-'}${a.ingressFqdn ? `, ingress http://${a.ingressFqdn}` : ''}`,
      ),
    '',
    'Point Greenlight at it with:',
    `  GREENLIGHT_ARM_ENDPOINT=${emulator.url}`,
    `  GREENLIGHT_ARM_CA_FILE=${caFile}`,
    '  GREENLIGHT_CREDENTIAL=static GREENLIGHT_STATIC_TOKEN=local',
    '  GREENLIGHT_REVISION_URL_SCHEME=http',
    `Other Node tools: NODE_EXTRA_CA_CERTS=${caFile}`,
    `State: ${emulator.url}/_emulator/state   Faults: POST ${emulator.url}/_emulator/faults`,
    'Ctrl-C stops.',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  // `npm start -- --emulator-url <url>` reads the monitoring endpoints (gates) from here.
  const endpoints = {
    url: emulator.url,
    caFile,
    metricsUrl: emulator.monitor.metricsUrl,
    logsUrl: emulator.monitor.logsUrl,
  };
  mkdirSync(resolve('.greenlight'), { recursive: true });
  writeFileSync(resolve('.greenlight/emulator.json'), `${JSON.stringify(endpoints, null, 2)}\n`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\n${signal}: stopping the emulator\n`);
    emulator.stop().then(
      () => process.exit(0),
      (e: unknown) => {
        process.stderr.write(`emulator did not stop cleanly: ${(e as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

main(process.argv).catch((e: unknown) => {
  process.stderr.write(`emulator: ${(e as Error).message}\n`);
  process.exit(1);
});
