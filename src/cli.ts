#!/usr/bin/env node
// promgate's command line: run the gateway, check a config, generate a certificate.
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { http } from './kernel/node-http.ts';
import { request as httpsRequest } from 'node:https';
import { dirname, join } from 'node:path';
import { parseArgs, type ParseArgsOptionDescriptor } from 'node:util';
import { loadConfig, type FlagValues } from './config/load.ts';
import { CONFIG_FILE_ENV, CONFIG_FILE_FLAG, OPTIONS, type OptionSpec } from './config/options.ts';
import { ConfigError, didYouMean, errorMessage } from './errors.ts';
import { hashPasswordLine, readPassword, DEFAULT_BCRYPT_COST } from './hash-password.ts';
import { createToken } from './token-command.ts';
import { isClusterWorker, runPrimary, workerRegistry } from './cluster.ts';
import { checkServerSetup } from './check.ts';
import { splitHostPort, type Config } from './config/schema.ts';
import { HEALTHY_PATH, READY_PATH } from '../middleware/health/index.ts';
import { createLogger } from './logger.ts';
import { createServer, type GatewayServer } from './server.ts';
import {
  certificatePaths,
  DEFAULT_CERT_DAYS,
  generateCertificate,
  subjectAltNameProblem,
  writeCertificateFiles,
} from './tls/certificates.ts';

const { request: httpRequest } = http;

const COMMANDS = [
  'run',
  'check-config',
  'healthcheck',
  'gen-cert',
  'hash-password',
  'token',
  'help',
  'version',
] as const;
type Command = (typeof COMMANDS)[number];

const HASH_PASSWORD_OPTIONS = {
  user: { type: 'string' },
  cost: { type: 'string', default: String(DEFAULT_BCRYPT_COST) },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Record<string, ParseArgsOptionDescriptor>;

const TOKEN_CREATE_OPTIONS = {
  name: { type: 'string' },
  file: { type: 'string' },
  expires: { type: 'string' },
  group: { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Record<string, ParseArgsOptionDescriptor>;

const GEN_CERT_OPTIONS = {
  cn: { type: 'string' },
  san: { type: 'string', multiple: true },
  out: { type: 'string', default: 'certs' },
  days: { type: 'string', default: String(DEFAULT_CERT_DAYS) },
  'key-type': { type: 'string', default: 'ec' },
  force: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Record<string, ParseArgsOptionDescriptor>;

function gatewayFlagOptions(): Record<string, ParseArgsOptionDescriptor> {
  const options: Record<string, ParseArgsOptionDescriptor> = {
    [CONFIG_FILE_FLAG]: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean' },
  };
  for (const option of OPTIONS) {
    if (option.fileOnly) continue;
    options[option.flag] =
      option.kind === 'boolean'
        ? { type: 'boolean' }
        : { type: 'string', multiple: option.kind === 'list' || option.kind === 'map' };
  }
  return options;
}

export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  const command: Command = first && !first.startsWith('-') ? (first as Command) : 'run';
  const args = command === first ? rest : argv;
  if (!COMMANDS.includes(command))
    throw new ConfigError(`unknown command "${command}"${hint(command, [...COMMANDS])}; see promgate --help`);
  switch (command) {
    case 'help':
      process.stdout.write(usage());
      return 0;
    case 'version':
      process.stdout.write(`promgate ${packageVersion()}\n`);
      return 0;
    case 'gen-cert':
      return genCert(args);
    case 'hash-password':
      return hashPassword(args);
    case 'token':
      return token(args);
    case 'healthcheck':
      return healthcheck(args);
    default:
      return command === 'check-config' ? checkConfig(args) : run(args);
  }
}

function parseGatewayFlags(
  args: string[],
  extra: Record<string, ParseArgsOptionDescriptor> = {},
): { flags: FlagValues; help: boolean; version: boolean; extra: Record<string, unknown> } {
  const options = { ...gatewayFlagOptions(), ...extra };
  const { values } = parse(args, options, true);
  const { help, version, ...rest } = values;
  const flags: Record<string, unknown> = {};
  const extraValues: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(rest)) (name in extra ? extraValues : flags)[name] = value;
  return { flags: flags as FlagValues, help: help === true, version: version === true, extra: extraValues };
}

async function run(args: string[]): Promise<number> {
  const { flags, help, version } = parseGatewayFlags(args);
  if (help) return (process.stdout.write(usage()), 0);
  if (version) return (process.stdout.write(`promgate ${packageVersion()}\n`), 0);
  const { config, warnings, locate } = loadConfig({
    flags,
    env: process.env,
    configFile: flags[CONFIG_FILE_FLAG] as string | undefined,
  });
  const rootLogger = createLogger({ level: config.log.level, format: config.log.format });
  const logger = isClusterWorker() ? rootLogger.child({ worker: cluster.worker?.id }) : rootLogger;
  // Installed before startup: as PID 1 in a container, a signal without a handler is ignored.
  let handle: GatewayServer | undefined;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without waiting for requests in flight');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    if (!handle) process.exit(0);
    void handle.close().then(() => process.exit(0));
  };
  for (const warning of warnings) if (!isClusterWorker()) logger.warn({}, warning);
  try {
    if (config.workers > 1 && !isClusterWorker()) {
      await runPrimary(config, logger);
      return -1;
    }
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    handle = isClusterWorker()
      ? // The primary serves the metrics listener, with every worker's metrics added up.
        await createServer({
          config: { ...config, metrics: { ...config.metrics, listenAddress: undefined } },
          logger,
          registry: workerRegistry(),
        })
      : await createServer({ config, logger });
  } catch (error) {
    throw locate(error); // a key the gateway refused, shown at the line that set it
  }
  rootLogger.flush(); // the startup lines now, not with the first buffer of access lines
  return -1; // keep running
}

async function checkConfig(args: string[]): Promise<number> {
  const { flags } = parseGatewayFlags(args);
  const { config, configFile, warnings, locate } = loadConfig({
    flags,
    env: process.env,
    configFile: flags[CONFIG_FILE_FLAG] as string | undefined,
  });
  let credentials: Awaited<ReturnType<typeof checkServerSetup>>;
  try {
    credentials = await checkServerSetup(config);
  } catch (error) {
    throw locate(error);
  }
  for (const warning of warnings) process.stderr.write(`warning: ${warning}\n`);
  const tls = credentials
    ? `certificate ${credentials.certFile} (SHA-256 ${credentials.fingerprint})`
    : 'no certificate: a development certificate will be generated at start';
  process.stdout.write(
    `config OK${configFile ? ` (${configFile})` : ''}: ${config.upstream.url} under ${config.basePath}, ${tls}\n`,
  );
  return 0;
}

/** Asks the running gateway (same config: flags, env, file) whether it is healthy or ready. */
async function healthcheck(args: string[]): Promise<number> {
  const { flags, help, extra } = parseGatewayFlags(args, { ready: { type: 'boolean' } });
  if (help) return (process.stdout.write(HEALTHCHECK_USAGE), 0);
  const { config } = loadConfig({ flags, env: process.env, configFile: flags[CONFIG_FILE_FLAG] as string | undefined });
  const url = healthcheckUrl(config, extra.ready === true);
  try {
    const { status, body } = await getOwnEndpoint(url, HEALTHCHECK_TIMEOUT_MS);
    process.stdout.write(`${url}: ${status} ${body.trim()}\n`);
    return status === 200 ? 0 : 1;
  } catch (error) {
    const hint =
      url.protocol === 'https:'
        ? ' (if the listener requires client certificates, set metrics.listenAddress: the check then uses it)'
        : '';
    process.stderr.write(`promgate healthcheck: ${url}: ${errorMessage(error)}${hint}\n`);
    return 1;
  }
}

const HEALTHCHECK_TIMEOUT_MS = 5000;

/** The metrics listener when there is one (plain HTTP, no client certificate needed), else the HTTPS one. */
export function healthcheckUrl(config: Config, ready: boolean): URL {
  const address = config.metrics.listenAddress ?? config.web.listenAddress;
  const { host, port } = splitHostPort(address);
  // A wildcard listener is reached on loopback: the check runs next to the gateway (HEALTHCHECK, exec probe).
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  const scheme = config.metrics.listenAddress ? 'http' : 'https';
  return new URL(
    `${scheme}://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}${ready ? READY_PATH : HEALTHY_PATH}`,
  );
}

function getOwnEndpoint(url: URL, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    // The gateway's own certificate need not name the loopback address; nothing secret is sent.
    const req = send(url, { rejectUnauthorized: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.once('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.once('error', reject);
    req.end();
  });
}

async function genCert(args: string[]): Promise<number> {
  const { values } = parse(args, GEN_CERT_OPTIONS, false);
  if (values.help) return (process.stdout.write(GEN_CERT_USAGE), 0);
  if (!values.cn) throw new ConfigError('--cn is required, e.g. promgate gen-cert --cn prometheus.example.com');
  const days = Number(values.days);
  if (!Number.isInteger(days) || days < 1)
    throw new ConfigError(`--days must be a whole number of days, got "${values.days}"`);
  const keyType = values['key-type'];
  if (keyType !== 'rsa' && keyType !== 'ec') throw new ConfigError(`--key-type must be rsa or ec, got "${keyType}"`);
  // The CN goes into the subjectAltName too, so it must be a name a client can match.
  for (const [flag, name] of [
    ['--cn', values.cn] as const,
    ...(values.san ?? []).map((san) => ['--san', san] as const),
  ]) {
    const problem = subjectAltNameProblem(name);
    if (problem) throw new ConfigError(`${flag} ${JSON.stringify(name)}: ${problem}`);
  }
  const { certFile, keyFile } = certificatePaths(values.out);
  const overwrite = values.force === true;
  const material = await generateCertificate({
    commonName: values.cn,
    subjectAltNames: values.san ?? [],
    days,
    keyType,
  });
  writeCertificateFiles(material, certFile, keyFile, { overwrite });
  process.stdout.write(`wrote ${certFile} and ${keyFile} (mode 0600), valid ${days} days\n`);
  return 0;
}

async function hashPassword(args: string[]): Promise<number> {
  const { values } = parse(args, HASH_PASSWORD_OPTIONS, false);
  if (values.help) return (process.stdout.write(HASH_PASSWORD_USAGE), 0);
  const cost = Number(values.cost);
  const password = await readPassword(process.stdin, process.stderr);
  process.stdout.write(`${await hashPasswordLine(password, { user: values.user, cost })}\n`);
  return 0;
}

/** `token create`: the token alone on stdout, so `TOKEN=$(promgate token create ...)` captures just it. */
function token(args: string[]): number {
  const [action, ...rest] = args;
  if (action === '--help' || action === '-h' || action === 'help') return (process.stdout.write(TOKEN_USAGE), 0);
  if (action !== 'create')
    throw new ConfigError(`unknown token command ${JSON.stringify(action ?? '')}; see promgate token --help`);
  const { values } = parse(rest, TOKEN_CREATE_OPTIONS, false);
  if (values.help) return (process.stdout.write(TOKEN_USAGE), 0);
  if (values.name === undefined) throw new ConfigError('--name is required, e.g. --name grafana');
  if (values.file === undefined) throw new ConfigError('--file is required: the tokens file (auth.tokensFile)');
  const created = createToken({ name: values.name, file: values.file, expires: values.expires, groups: values.group });
  if (created.warning) process.stderr.write(`promgate: warning: ${created.warning}\n`);
  process.stderr.write(`promgate: appended to ${values.file}: ${created.line}\n`);
  process.stdout.write(`${created.token}\n`);
  return 0;
}

function parse<T extends Record<string, ParseArgsOptionDescriptor>>(
  args: string[],
  options: T,
  allowNegative: boolean,
) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false, allowNegative });
  } catch (error) {
    const message = errorMessage(error);
    const unknown = /Unknown option '(--?[^']+)'/.exec(message)?.[1];
    if (unknown) {
      const name = unknown.replace(/^-+/, '').split('=')[0] ?? '';
      throw new ConfigError(`unknown flag ${unknown}${hint(name, Object.keys(options), '--')}; see promgate --help`);
    }
    throw new ConfigError(message.split('. ')[0] ?? message);
  }
}

function hint(word: string, candidates: string[], prefix = ''): string {
  return didYouMean(
    prefix + word,
    candidates.map((candidate) => prefix + candidate),
  );
}

function packageVersion(): string {
  for (let dir = import.meta.dirname; dir !== dirname(dir); dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'promgate') return pkg.version ?? 'unknown';
    } catch {
      // not here; look one folder up
    }
  }
  return 'unknown';
}

function describeOption(option: OptionSpec): string {
  const value =
    option.kind === 'boolean' ? '' : option.kind === 'list' ? '=A,B' : option.kind === 'map' ? '=NAME=VALUE' : '=VALUE';
  const shown =
    option.default === undefined ||
    (Array.isArray(option.default) && option.default.length === 0) ||
    (typeof option.default === 'object' && option.default !== null && Object.keys(option.default).length === 0);
  const defaultText = shown ? '' : ` (default: ${JSON.stringify(option.default)})`;
  return `  --${option.flag}${value}\n      ${option.description}${defaultText}\n      env ${option.env}, config key ${option.key}\n`;
}

const GEN_CERT_USAGE = `Usage: promgate gen-cert --cn NAME [--san NAME|IP]... [--out DIR] [--days N] [--key-type ec|rsa] [--force]

Writes DIR/tls.crt and DIR/tls.key (mode 0600): a self-signed server certificate whose
subjectAltName holds the CN and every --san (modern clients ignore the CN). Names are DNS
names (a wildcard only as the first label: *.example.com) or IPv4/IPv6 addresses.
  --force     replace DIR/tls.crt and DIR/tls.key if they exist (default: refuse)
  --out       default certs
  --days      default ${DEFAULT_CERT_DAYS}
  --key-type  default ec (P-256); rsa is 2048-bit
`;

const HEALTHCHECK_USAGE = `Usage: promgate healthcheck [--ready] [flags]

Asks the running gateway for /-/promgate/healthy (or /-/promgate/ready with --ready) and exits 0
on 200, 1 otherwise: for Docker's HEALTHCHECK and exec probes. It reads the same flags,
PROMGATE_* variables and config file as the gateway to find it: the metrics listener when
metrics.listenAddress is set, else the HTTPS listener (certificate not verified: it is our own).
`;

const HASH_PASSWORD_USAGE = `Usage: promgate hash-password [--user NAME] [--cost N]

Reads a password from standard input (or asks twice at a hidden prompt) and prints a bcrypt
htpasswd line, NAME:$2y$..., like htpasswd -nB; without --user, only the hash (for web-config.yml).
  --cost  bcrypt cost, ${DEFAULT_BCRYPT_COST} to 31 (default ${DEFAULT_BCRYPT_COST})
`;

const TOKEN_USAGE = `Usage: promgate token create --name NAME --file PATH [--expires 90d|TIME] [--group G]...

Generates an API token (promgate_..., 256 random bits), appends its line (the name, the token's
SHA-256 digest, the expiry and groups; never the token) to PATH (auth.tokensFile; created with
mode 0600), and prints the token once on standard output. Clients send it as
Authorization: Bearer <token>. Revoke a token by deleting its line; the gateway reloads the file.
  --name     the user name roles and logs see (no ":" or spaces, not starting with "#")
  --expires  a duration (12h, 90d, 2w) or a time (2027-03-01T00:00:00Z); default: never
  --group    a group for accessControl.groups; repeat for several
`;

function usage(): string {
  return `Usage: promgate [run] [flags]            serve HTTPS in front of Prometheus
       promgate check-config [flags]     validate the configuration and certificate, exit 0 or 1
       promgate healthcheck [--ready] [flags]   ask the running gateway; exit 0 if healthy (ready)
       promgate gen-cert --cn NAME ...   write a self-signed certificate (see promgate gen-cert --help)
       promgate hash-password [--user NAME] [--cost 10]   print an htpasswd bcrypt line
       promgate token create --name NAME --file PATH ...   add an API token (see promgate token --help)
       promgate --help | --version

Precedence: flags > environment (PROMGATE_*) > config file > defaults.

  --${CONFIG_FILE_FLAG}=FILE
      YAML file with the settings below (camelCase keys, nested by the dots).
      env ${CONFIG_FILE_ENV}
${OPTIONS.filter((option) => !option.fileOnly)
  .map(describeOption)
  .join('')}
Config file only: ${OPTIONS.filter((option) => option.fileOnly)
    .map((option) => option.key)
    .join(', ')}.
`;
}

// Run only as the entry point, so tests can import main().
if (process.argv[1] && import.meta.filename === (await import('node:fs')).realpathSync(process.argv[1])) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code >= 0) process.exitCode = code;
    },
    (error: unknown) => {
      // One line per problem, each with the prefix, so every line reads (and greps) alike.
      const lines = error instanceof ConfigError ? error.message.split('\n') : [`error: ${errorMessage(error)}`];
      process.stderr.write(lines.map((line) => `promgate: ${line}\n`).join(''));
      process.exit(1);
    },
  );
}
