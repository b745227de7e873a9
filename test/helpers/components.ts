// Alertmanager and Pushgateway (Debian's prometheus-alertmanager and prometheus-pushgateway) for
// end-to-end tests, and the stack `routes:` is for: one gateway in front of Prometheus,
// Alertmanager and Pushgateway, each started with --web.external-url=<gateway origin>/<its prefix>.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerOptions } from '../../src/index.ts';
import { startTestGateway, type TestGateway } from './gateway.ts';
import { freePort } from './ports.ts';
import { get, spawnPrometheus, startPrometheus, type TestPrometheus } from './prometheus.ts';
import { waitFor } from './wait.ts';

export const ALERTMANAGER_BINARY = 'prometheus-alertmanager';
export const PUSHGATEWAY_BINARY = 'prometheus-pushgateway';
/** Both answer /-/ready within ~0.1 s of starting; slow CI needs slack. */
export const COMPONENT_READY_TIMEOUT_MS = 15_000;
const POLL_INTERVAL_MS = 100;

export interface TestComponent {
  /** http://127.0.0.1:<port>, the component itself (no gateway). */
  url: string;
  port: number;
  /** What it was started with as --web.external-url. */
  externalUrl: string;
  /** The tail of its stdout and stderr, for assertion messages. */
  logs(): string;
  stop(): Promise<void>;
}

export interface TestAlertmanager extends TestComponent {
  /** The name of the one receiver of its config: unique per run, /api/v2/status shows it. */
  receiver: string;
}

export interface StartComponentOptions {
  /** --web.external-url: where users reach it (the gateway's origin plus base path). */
  externalUrl: string;
  /** Loopback port to listen on; a free one when omitted. */
  port?: number;
}

/** Alertmanager with one no-op receiver, no clustering, its storage in a temp dir. */
export async function startAlertmanager(options: StartComponentOptions): Promise<TestAlertmanager> {
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'promgate-alertmanager-'));
  const receiver = `promgate-test-${randomBytes(6).toString('hex')}`;
  writeFileSync(join(dir, 'am.yml'), `route: {receiver: ${receiver}}\nreceivers: [{name: ${receiver}}]\n`);
  const component = await startComponent({
    name: 'alertmanager',
    binary: ALERTMANAGER_BINARY,
    port,
    dir,
    externalUrl: options.externalUrl,
    args: [
      `--config.file=${join(dir, 'am.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      // Off: it would bind 0.0.0.0:9094 and gossip with any peer it finds.
      '--cluster.listen-address=',
    ],
    statusPath: '/api/v2/status',
    isOurs: (status) => status.includes(`name: ${receiver}`),
  });
  return { ...component, receiver };
}

/** Pushgateway with the admin API (wipe) and lifecycle endpoints on, persisting into a temp dir. */
export async function startPushgateway(options: StartComponentOptions): Promise<TestComponent> {
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'promgate-pushgateway-'));
  // Debian's default is /var/lib/prometheus/pushgateway.data, shared by every run on the machine.
  const persistenceFile = join(dir, 'pushgateway.data');
  return startComponent({
    name: 'pushgateway',
    binary: PUSHGATEWAY_BINARY,
    port,
    dir,
    externalUrl: options.externalUrl,
    args: [`--persistence.file=${persistenceFile}`, '--web.enable-admin-api', '--web.enable-lifecycle'],
    statusPath: '/api/v1/status',
    isOurs: (status) => status.includes(`"persistence.file":${JSON.stringify(persistenceFile)}`),
  });
}

interface ComponentSpec {
  name: string;
  binary: string;
  port: number;
  /** Its temp dir, removed when it stops. */
  dir: string;
  externalUrl: string;
  args: string[];
  /** Answers what only this run's process can say (its temp paths or config)... */
  statusPath: string;
  /** ...which this recognizes in the 200 answer's body. */
  isOurs(status: string): boolean;
}

async function startComponent(spec: ComponentSpec): Promise<TestComponent> {
  const {
    output,
    exited,
    stop: stopProcess,
  } = spawnPrometheus(
    [
      `--web.listen-address=127.0.0.1:${spec.port}`,
      `--web.external-url=${spec.externalUrl}`,
      '--web.route-prefix=/',
      ...spec.args,
    ],
    spec.binary,
  );
  const url = `http://127.0.0.1:${spec.port}`;
  let stopping: Promise<void> | undefined;
  const component: TestComponent = {
    url,
    port: spec.port,
    externalUrl: spec.externalUrl,
    logs: output,
    stop() {
      stopping ??= stopProcess().then(() => rmSync(spec.dir, { recursive: true, force: true }));
      return stopping;
    },
  };
  try {
    const exit = exited.then((code): never => {
      throw new Error(`${spec.name} exited (${code}) before it answered GET /-/ready with 200; output:\n${output()}`);
    });
    await waitFor(async () => (await get(`${url}/-/ready`))?.status === 200, {
      timeoutMs: COMPONENT_READY_TIMEOUT_MS,
      intervalMs: POLL_INTERVAL_MS,
      message: () => `${spec.name} to answer GET /-/ready with 200; output:\n${output()}`,
      failOn: exit,
    });
    // Whoever took the port in the race after freePort() would answer the polls in our stead.
    const status = await get(`${url}${spec.statusPath}`);
    if (status?.status !== 200 || !spec.isOurs(status.text)) {
      throw new Error(
        `another process answers on 127.0.0.1:${spec.port} (address already in use); ${spec.name} output:\n${output()}`,
      );
    }
  } catch (error) {
    await component.stop();
    throw error;
  }
  return component;
}

export const STACK_BASE_PATHS = {
  prometheus: '/prometheus',
  alertmanager: '/alertmanager',
  pushgateway: '/pushgateway',
} as const;

export interface StackBehindGateway {
  gateway: TestGateway;
  prometheus: TestPrometheus;
  alertmanager: TestAlertmanager;
  pushgateway: TestComponent;
  close(): Promise<void>;
}

/**
 * One gateway with a route per component (presets prometheus, alertmanager, pushgateway at
 * STACK_BASE_PATHS), each component on loopback with --web.external-url=<gateway origin><base path>.
 * `gatewayOptions` adds the shared settings (auth, accessControl, plugins, ...). Prometheus runs
 * with --web.enable-lifecycle. The components' ports are reserved before the gateway starts; on the
 * rare race where someone takes one before its component binds, start over.
 */
export async function startStackBehindGateway(
  gatewayOptions: Omit<ServerOptions, 'basePath' | 'routes'> = {},
  attempts = 3,
): Promise<StackBehindGateway> {
  for (let attempt = 1; ; attempt++) {
    const [prometheusPort, alertmanagerPort, pushgatewayPort] = [await freePort(), await freePort(), await freePort()];
    const gateway = await startTestGateway({
      ...gatewayOptions,
      routes: [
        {
          basePath: STACK_BASE_PATHS.prometheus,
          preset: 'prometheus',
          upstream: { url: `http://127.0.0.1:${prometheusPort}` },
        },
        {
          basePath: STACK_BASE_PATHS.alertmanager,
          preset: 'alertmanager',
          upstream: { url: `http://127.0.0.1:${alertmanagerPort}` },
        },
        {
          basePath: STACK_BASE_PATHS.pushgateway,
          preset: 'pushgateway',
          upstream: { url: `http://127.0.0.1:${pushgatewayPort}` },
        },
      ],
    });
    const started = await Promise.allSettled([
      startPrometheus({
        port: prometheusPort,
        externalUrl: `${gateway.origin}${STACK_BASE_PATHS.prometheus}`,
        args: ['--web.enable-lifecycle'],
      }),
      startAlertmanager({ port: alertmanagerPort, externalUrl: `${gateway.origin}${STACK_BASE_PATHS.alertmanager}` }),
      startPushgateway({ port: pushgatewayPort, externalUrl: `${gateway.origin}${STACK_BASE_PATHS.pushgateway}` }),
    ]);
    const components = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const close = async () => {
      await Promise.allSettled([gateway.close(), ...components.map((component) => component.stop())]);
      rmSync(gateway.cert.dir, { recursive: true, force: true });
    };
    const [prometheus, alertmanager, pushgateway] = started;
    if (
      prometheus.status === 'fulfilled' &&
      alertmanager.status === 'fulfilled' &&
      pushgateway.status === 'fulfilled'
    ) {
      return {
        gateway,
        prometheus: prometheus.value,
        alertmanager: alertmanager.value,
        pushgateway: pushgateway.value,
        close,
      };
    }
    await close();
    const errors = started.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
    if (attempt >= attempts || !errors.every((error) => /address already in use/.test(String(error)))) {
      throw errors.length === 1 ? errors[0] : new AggregateError(errors, errors.map(String).join('\n'));
    }
  }
}
