// Checks the deployment examples against the Kubernetes API schemas and against promgate itself
// (options, config schema, health paths, defaults), so a renamed option, a moved health path or a
// port mismatch fails here rather than in a cluster.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget, type IPodDisruptionBudget } from 'kubernetes-models/policy/v1';
import {
  ConfigMap,
  Secret,
  Service,
  type IConfigMap,
  type IContainer,
  type IPodSpec,
  type ISecret,
  type IService,
} from 'kubernetes-models/v1';
import { parse, parseAllDocuments } from 'yaml';
import { HEALTHY_PATH, READY_PATH } from '../../middleware/health/index.ts';
import { loadConfig, validateConfig } from '../../src/config/load.ts';
import { CONFIG_FILE_ENV, OPTIONS } from '../../src/config/options.ts';
import {
  DEFAULT_BASE_PATH,
  DEFAULT_LISTEN_ADDRESS,
  parseDuration,
  splitHostPort,
  type Config,
  type ConfigInput,
} from '../../src/config/schema.ts';

const KUBERNETES_DIR = join(import.meta.dirname, '..', '..', 'deploy', 'kubernetes');
const COMPOSE_DIR = join(import.meta.dirname, '..', '..', 'deploy', 'compose');
/** Prometheus's --web.listen-address default. */
const PROMETHEUS_PORT = 9090;

type KubernetesObject = { apiVersion?: unknown; kind?: unknown; metadata?: { name?: string } };
type ModelClass = { apiVersion: string; kind: string; new (data: never): { validate(): void } };
const MODELS: readonly ModelClass[] = [ConfigMap, Secret, Service, Deployment, PodDisruptionBudget];

/** Validates an object with the kubernetes-models class of its apiVersion and kind; throws on a kind we have no schema for. */
function validateObject(object: KubernetesObject): void {
  const model = MODELS.find(
    (candidate) => candidate.apiVersion === object.apiVersion && candidate.kind === object.kind,
  );
  if (!model) throw new Error(`no schema for apiVersion ${String(object.apiVersion)}, kind ${String(object.kind)}`);
  new model(object as never).validate();
}

/** Parses like Kubernetes does (YAML 1.1, so `defaultMode: 0440` is octal); any syntax error fails. */
function readYamlDocuments(file: string): unknown[] {
  const documents = parseAllDocuments(readFileSync(file, 'utf8'), { version: '1.1' });
  const list = Array.isArray(documents) ? documents : [];
  for (const document of list)
    assert.deepEqual(
      document.errors.map((error) => error.message),
      [],
      file,
    );
  return list.map((document) => document.toJS() as unknown).filter((value) => value !== null && value !== undefined);
}

interface Kustomization {
  resources?: string[];
  images?: { name: string; newName?: string; newTag?: string }[];
}

const readKustomization = () =>
  parse(readFileSync(join(KUBERNETES_DIR, 'kustomization.yaml'), 'utf8')) as Kustomization;

function readKubernetesBase() {
  const kustomization = readKustomization();
  const objects = (kustomization.resources ?? []).flatMap((file) =>
    readYamlDocuments(join(KUBERNETES_DIR, file)).map((object) => ({ file, object: object as KubernetesObject })),
  );
  const find = <T>(kind: string, name?: string): T[] =>
    objects
      .filter(({ object }) => object.kind === kind && (name === undefined || object.metadata?.name === name))
      .map(({ object }) => object as T);
  const [deployment, ...moreDeployments] = find<IDeployment>('Deployment');
  assert.ok(deployment, 'the base has a Deployment');
  assert.equal(moreDeployments.length, 0, 'the base has one Deployment');
  const pod = deployment.spec?.template.spec as IPodSpec;
  const container = pod.containers.find((candidate) => candidate.name === 'promgate');
  assert.ok(container, 'the Deployment has a container named promgate');
  return { kustomization, objects, find, deployment, pod, container };
}

type KubernetesBase = ReturnType<typeof readKubernetesBase>;

function containerPort(container: IContainer, name: string): number {
  const port = container.ports?.find((candidate) => candidate.name === name)?.containerPort;
  assert.ok(port, `the container has a port named ${name}`);
  return port;
}

function envValue(container: IContainer, name: string): string | undefined {
  return container.env?.find((variable) => variable.name === name)?.value;
}

/** What a key of a ConfigMap or Secret holds (Secret `data` is base64). */
function objectData(object: IConfigMap | ISecret): Record<string, string> {
  const data = Object.entries(object.data ?? {}).map(([key, value]) => [
    key,
    object.kind === 'Secret' ? Buffer.from(value, 'base64').toString('utf8') : value,
  ]);
  return { ...Object.fromEntries(data), ...(object.kind === 'Secret' ? (object as ISecret).stringData : {}) };
}

interface VolumeSource {
  kind: 'ConfigMap' | 'Secret';
  name: string | undefined;
  items: { key: string; path: string }[] | undefined;
}

function volumeSources(base: KubernetesBase, volumeName: string): VolumeSource[] {
  const volume = base.pod.volumes?.find((candidate) => candidate.name === volumeName);
  assert.ok(volume, `volume ${volumeName} is defined`);
  if (volume.configMap) return [{ kind: 'ConfigMap', name: volume.configMap.name, items: volume.configMap.items }];
  if (volume.secret) return [{ kind: 'Secret', name: volume.secret.secretName, items: volume.secret.items }];
  return (volume.projected?.sources ?? []).flatMap((source): VolumeSource[] => [
    ...(source.configMap
      ? [{ kind: 'ConfigMap' as const, name: source.configMap.name, items: source.configMap.items }]
      : []),
    ...(source.secret ? [{ kind: 'Secret' as const, name: source.secret.name, items: source.secret.items }] : []),
  ]);
}

/** The content the container sees at `path`, following volumeMounts to the ConfigMap or Secret key. */
function mountedFile(base: KubernetesBase, path: string): string {
  const mount = base.container.volumeMounts?.find((candidate) =>
    path.startsWith(`${candidate.mountPath.replace(/\/$/, '')}/`),
  );
  assert.ok(mount, `${path} lies under a volumeMount`);
  const name = path.slice(mount.mountPath.replace(/\/$/, '').length + 1);
  for (const source of volumeSources(base, mount.name)) {
    const [object] = base.find<IConfigMap | ISecret>(source.kind, source.name);
    assert.ok(object, `${source.kind} ${source.name} is in the base`);
    const data = objectData(object);
    const key = source.items ? source.items.find((item) => item.path === name)?.key : name in data ? name : undefined;
    if (key === undefined) continue;
    const content = data[key];
    assert.ok(content !== undefined, `${source.kind} ${source.name} has the key ${key}`);
    return content;
  }
  assert.fail(`${path}: volume ${mount.name} holds no file ${name}`);
}

/** Loads `promgateYml` with `env` exactly as the gateway does at start. */
function loadWithEnv(promgateYml: string, env: Record<string, string>): Config {
  const dir = mkdtempSync(join(tmpdir(), 'promgate-deploy-'));
  try {
    const file = join(dir, 'promgate.yml');
    writeFileSync(file, promgateYml);
    return loadConfig({ env: { ...env, [CONFIG_FILE_ENV]: file } }).config;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The config the container runs with: the file PROMGATE_CONFIG_FILE names, under the Deployment's env. */
function gatewayConfig(base: KubernetesBase): Config {
  const configFile = envValue(base.container, CONFIG_FILE_ENV);
  assert.ok(configFile, `the container sets ${CONFIG_FILE_ENV}`);
  const env = Object.fromEntries(
    (base.container.env ?? []).flatMap((variable) =>
      variable.value === undefined ? [] : [[variable.name, variable.value]],
    ),
  );
  return loadWithEnv(mountedFile(base, configFile), env);
}

const KNOWN_ENV = new Set([CONFIG_FILE_ENV, ...OPTIONS.map((option) => option.env)]);

function assertKnownPromgateVariables(names: string[], where: string): void {
  const promgateNames = names.filter((name) => name.startsWith('PROMGATE_'));
  assert.ok(promgateNames.length > 0, `${where} sets PROMGATE_* variables`);
  for (const name of promgateNames) assert.ok(KNOWN_ENV.has(name), `${where}: ${name} is not a promgate option`);
}

describe('Kubernetes base (deploy/kubernetes)', () => {
  it('lists every manifest of the folder in its kustomization, and only files that exist', () => {
    const listed = readKustomization().resources ?? [];
    for (const file of listed) assert.ok(existsSync(join(KUBERNETES_DIR, file)), `${file} is listed but missing`);
    const manifests = readdirSync(KUBERNETES_DIR).filter(
      (file) => /\.ya?ml$/.test(file) && file !== 'kustomization.yaml',
    );
    assert.deepEqual([...manifests].sort(), [...listed].sort());
  });

  it('holds only objects that pass the Kubernetes API schema of their kind', () => {
    const { objects } = readKubernetesBase();
    assert.ok(objects.length >= 6, 'ConfigMap, 2 Secrets, Deployment, Service, PDB');
    for (const { file, object } of objects) {
      assert.doesNotThrow(() => validateObject(object), `${file}: ${String(object.kind)} ${object.metadata?.name}`);
    }
  });

  it('rejects objects that break the schema, and kinds it has no schema for', () => {
    const { deployment } = readKubernetesBase();
    const badReplicas = structuredClone(deployment) as unknown as { spec: { replicas: unknown } };
    badReplicas.spec.replicas = 'two';
    assert.throws(() => validateObject(badReplicas as KubernetesObject), /spec\/replicas must be integer/);
    const badContainer = structuredClone(deployment);
    (
      badContainer.spec?.template.spec?.containers[0]?.securityContext as Record<string, unknown>
    ).readOnlyRootFilesystem = 'yes';
    assert.throws(() => validateObject(badContainer), /readOnlyRootFilesystem must be boolean/);
    assert.throws(
      () => validateObject({ apiVersion: 'example.com/v1', kind: 'Widget' }),
      /no schema for apiVersion example\.com\/v1, kind Widget/,
    );
    assert.throws(() => validateObject({ ...deployment, apiVersion: 'apps/v1beta1' }), /no schema/);
  });

  it('runs the image the kustomization lets users retarget', () => {
    const { kustomization, container } = readKubernetesBase();
    assert.equal(container.image, 'promgate');
    assert.ok(
      kustomization.images?.some((image) => image.name === 'promgate' && image.newTag),
      'images: sets the tag of promgate',
    );
  });

  it('runs at least two replicas, replaced one at a time with none unavailable', () => {
    const { deployment, find } = readKubernetesBase();
    const replicas = deployment.spec?.replicas ?? 1;
    assert.ok(replicas >= 2, `replicas ${replicas}`);
    assert.equal(deployment.spec?.strategy?.type, 'RollingUpdate');
    assert.equal(deployment.spec?.strategy?.rollingUpdate?.maxUnavailable, 0);
    const [budget] = find<IPodDisruptionBudget>('PodDisruptionBudget');
    const minAvailable = budget?.spec?.minAvailable;
    assert.equal(minAvailable, 1);
    assert.ok(minAvailable < replicas, 'the budget leaves a replica to evict, else node drains block');
  });

  it('selects the gateway pods with every selector: Deployment, Service, budget and spread constraints', () => {
    const { deployment, pod, find } = readKubernetesBase();
    const podLabels = deployment.spec?.template.metadata?.labels ?? {};
    const [service] = find<IService>('Service');
    const [budget] = find<IPodDisruptionBudget>('PodDisruptionBudget');
    const selectors = [
      ['Deployment', deployment.spec?.selector.matchLabels],
      ['Service', service?.spec?.selector],
      ['PodDisruptionBudget', budget?.spec?.selector?.matchLabels],
      ...(pod.topologySpreadConstraints ?? []).map(
        (constraint) => [`spread over ${constraint.topologyKey}`, constraint.labelSelector?.matchLabels] as const,
      ),
    ] as const;
    assert.ok((pod.topologySpreadConstraints ?? []).length > 0 || pod.affinity?.podAntiAffinity, 'replicas are spread');
    for (const [owner, selector] of selectors) {
      assert.ok(selector && Object.keys(selector).length > 0, `${owner} has a selector`);
      for (const [key, value] of Object.entries(selector))
        assert.equal(podLabels[key], value, `${owner} selects ${key}=${value}`);
    }
  });

  it('routes the Service to named ports of the gateway container', () => {
    const { container, find } = readKubernetesBase();
    const [service] = find<IService>('Service');
    assert.equal(service?.spec?.type ?? 'ClusterIP', 'ClusterIP');
    const ports = service?.spec?.ports ?? [];
    assert.deepEqual(
      ports.map((port) => [port.port, port.targetPort]),
      [
        [443, 'https'],
        [9091, 'metrics'],
      ],
    );
    const names = new Set(container.ports?.map((port) => port.name));
    for (const port of ports)
      assert.ok(names.has(String(port.targetPort)), `targetPort ${port.targetPort} names a container port`);
  });

  it('probes the health endpoints over HTTPS on the gateway port', () => {
    const { container } = readKubernetesBase();
    const probes = [
      ['livenessProbe', container.livenessProbe, HEALTHY_PATH],
      ['readinessProbe', container.readinessProbe, READY_PATH],
    ] as const;
    for (const [name, probe, path] of probes) {
      assert.equal(probe?.httpGet?.path, path, `${name} path`);
      assert.equal(probe.httpGet.scheme, 'HTTPS', `${name} scheme`);
      const port = probe.httpGet.port;
      assert.equal(
        typeof port === 'number' ? port : containerPort(container, port),
        containerPort(container, 'https'),
        `${name} port`,
      );
    }
  });

  it('listens where the container ports say, with the gateway on its default listen address', () => {
    const base = readKubernetesBase();
    const config = gatewayConfig(base);
    assert.equal(
      config.web.listenAddress,
      envValue(base.container, 'PROMGATE_WEB_LISTEN_ADDRESS') ?? DEFAULT_LISTEN_ADDRESS,
    );
    assert.equal(splitHostPort(config.web.listenAddress).port, containerPort(base.container, 'https'));
    assert.ok(config.metrics.listenAddress, 'the metrics listener is on');
    assert.equal(splitHostPort(config.metrics.listenAddress).port, containerPort(base.container, 'metrics'));
  });

  it('runs as non-root with a read-only root filesystem, no capabilities and no privilege escalation', () => {
    const { pod, container } = readKubernetesBase();
    const podContext = pod.securityContext ?? {};
    const context = container.securityContext ?? {};
    assert.equal(context.runAsNonRoot ?? podContext.runAsNonRoot, true, 'runAsNonRoot');
    assert.equal(context.runAsUser ?? podContext.runAsUser, 1000, "runAsUser is the image's node user");
    assert.equal(context.runAsGroup ?? podContext.runAsGroup, 1000, 'runAsGroup');
    assert.equal(podContext.fsGroup, 1000, 'fsGroup lets uid 1000 read the Secret files');
    assert.equal(context.readOnlyRootFilesystem, true, 'readOnlyRootFilesystem');
    assert.equal(context.allowPrivilegeEscalation, false, 'allowPrivilegeEscalation');
    assert.deepEqual(context.capabilities?.drop, ['ALL']);
    assert.equal(context.capabilities?.add, undefined);
    assert.equal((context.seccompProfile ?? podContext.seccompProfile)?.type, 'RuntimeDefault');
    assert.equal(pod.automountServiceAccountToken, false, 'no service account token');
    const tmp = container.volumeMounts?.find((mount) => mount.mountPath === '/tmp');
    assert.ok(tmp && pod.volumes?.find((volume) => volume.name === tmp.name)?.emptyDir, '/tmp is a writable emptyDir');
  });

  it('requests CPU and memory and limits memory', () => {
    const { container } = readKubernetesBase();
    assert.ok(container.resources?.requests?.cpu, 'cpu request');
    assert.ok(container.resources.requests.memory, 'memory request');
    assert.ok(container.resources.limits?.memory, 'memory limit');
  });

  it('lets in-flight requests finish before the pod is killed', () => {
    const base = readKubernetesBase();
    const graceSeconds = parseDuration(gatewayConfig(base).web.shutdownGracePeriod) / 1000;
    const preStopSeconds = base.container.lifecycle?.preStop?.sleep?.seconds ?? 0;
    const budget = base.pod.terminationGracePeriodSeconds ?? 30;
    assert.ok(
      budget > preStopSeconds + graceSeconds,
      `terminationGracePeriodSeconds ${budget} > preStop ${preStopSeconds}s + shutdown grace ${graceSeconds}s`,
    );
  });

  it('mounts only defined volumes, built from Secrets and ConfigMaps the base defines', () => {
    const base = readKubernetesBase();
    const volumes = new Set(base.pod.volumes?.map((volume) => volume.name));
    for (const mount of base.container.volumeMounts ?? [])
      assert.ok(volumes.has(mount.name), `volumeMount ${mount.name} names a volume`);
    for (const volume of base.pod.volumes ?? []) {
      for (const source of volumeSources(base, volume.name)) {
        const [object] = base.find<IConfigMap | ISecret>(source.kind, source.name);
        assert.ok(object, `volume ${volume.name}: ${source.kind} ${source.name} is in the base`);
        const data = objectData(object);
        for (const item of source.items ?? [])
          assert.ok(item.key in data, `volume ${volume.name}: ${source.kind} ${source.name} has key ${item.key}`);
      }
    }
    const certs = base.pod.volumes?.find((volume) => volume.projected);
    assert.equal(certs?.projected?.defaultMode, 0o440, 'Secret files readable by owner and fsGroup only');
  });

  it('finds its config file, certificate, key and htpasswd file in the mounted volumes', () => {
    const base = readKubernetesBase();
    const config = gatewayConfig(base);
    const files = {
      'tls.certFile': config.tls.certFile,
      'tls.keyFile': config.tls.keyFile,
      'auth.htpasswdFile': config.auth.htpasswdFile,
    };
    for (const [key, path] of Object.entries(files)) {
      assert.ok(path, `${key} is set`);
      mountedFile(base, path);
    }
  });

  it('configures the gateway with a promgate.yml that passes the config schema', () => {
    const [configMap] = readKubernetesBase().find<IConfigMap>('ConfigMap', 'promgate-config');
    const text = configMap?.data?.['promgate.yml'];
    assert.ok(text, 'ConfigMap promgate-config has promgate.yml');
    const config = validateConfig(parse(text) as ConfigInput, 'deploy/kubernetes/configmap.yaml');
    assert.equal(config.log.format, 'json');
    assert.ok(config.auth.htpasswdFile, 'basic auth is on');
  });

  it('sets only PROMGATE_* variables that are promgate options', () => {
    const { container } = readKubernetesBase();
    assertKnownPromgateVariables(container.env?.map((variable) => variable.name) ?? [], 'deployment.yaml');
  });

  it('commits placeholders, never a real key or certificate, in the Secrets', () => {
    const secrets = readKubernetesBase().find<ISecret>('Secret');
    assert.equal(secrets.length, 2);
    for (const secret of secrets) {
      for (const [key, value] of Object.entries(objectData(secret))) {
        assert.doesNotMatch(value, /-----BEGIN|\$2[aby]\$|\$apr1\$|\{SHA\}/, `${secret.metadata?.name} ${key}`);
        assert.match(value, /PLACEHOLDER/, `${secret.metadata?.name} ${key}`);
      }
    }
  });
});

interface ComposeService {
  command?: string[];
  ports?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
  read_only?: boolean;
  cap_drop?: string[];
  security_opt?: string[];
  network_mode?: string;
}

function readCompose() {
  const text = readFileSync(join(COMPOSE_DIR, 'compose.yaml'), 'utf8');
  const services = (parse(text) as { services?: Record<string, ComposeService> }).services ?? {};
  const { prometheus, promgate } = services;
  assert.ok(prometheus && promgate, 'compose.yaml has the services prometheus and promgate');
  assert.ok(!Array.isArray(promgate.environment), 'promgate.environment is a mapping');
  const env = promgate.environment ?? {};
  const flag = (name: string) =>
    prometheus.command?.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
  return { services, prometheus, promgate, env, flag, config: loadConfig({ env }).config };
}

/** Short volume syntax `source:target[:mode]`. */
function composeVolume(service: ComposeService, target: string) {
  const volume = service.volumes?.map((spec) => spec.split(':')).find((parts) => parts[1] === target);
  assert.ok(volume, `a volume is mounted at ${target}`);
  return { source: volume[0] ?? '', mode: volume[2] ?? 'rw' };
}

describe('compose example (deploy/compose)', () => {
  it('reaches Prometheus only through the gateway', () => {
    const { services, prometheus, config, flag } = readCompose();
    assert.equal(prometheus.ports, undefined, 'prometheus publishes no ports');
    assert.equal(prometheus.network_mode, undefined);
    const upstream = new URL(config.upstream.url);
    assert.ok(upstream.hostname in services, `upstream host ${upstream.hostname} is a compose service`);
    const listen = flag('web.listen-address');
    assert.equal(Number(upstream.port), listen ? splitHostPort(listen).port : PROMETHEUS_PORT);
  });

  it('serves Prometheus under the gateway base path, with Prometheus routes at the root', () => {
    const { promgate, env, config, flag } = readCompose();
    const externalUrl = flag('web.external-url');
    assert.ok(externalUrl, 'prometheus has --web.external-url');
    assert.equal(flag('web.route-prefix'), '/');
    const url = new URL(externalUrl);
    assert.equal(url.protocol, 'https:');
    assert.equal(
      url.pathname.replace(/(.)\/$/, '$1'),
      (env.PROMGATE_BASE_PATH ?? DEFAULT_BASE_PATH).replace(/(.)\/$/, '$1'),
    );
    const published = promgate.ports?.map((spec) => spec.split(':').slice(-2).map(Number));
    assert.deepEqual(
      published,
      [[Number(url.port), splitHostPort(config.web.listenAddress).port]],
      'the external URL port is published to the gateway listener',
    );
  });

  it('mounts the certificates read-only at /certs', () => {
    const { promgate } = readCompose();
    assert.deepEqual(composeVolume(promgate, '/certs'), { source: './certs', mode: 'ro' });
  });

  it('sets only PROMGATE_* variables that are promgate options, with valid values', () => {
    const { env } = readCompose();
    assertKnownPromgateVariables(Object.keys(env), 'compose.yaml');
    assert.doesNotThrow(() => loadConfig({ env }));
  });

  it('runs the gateway with a read-only filesystem and no capabilities', () => {
    const { promgate } = readCompose();
    assert.equal(promgate.read_only, true);
    assert.deepEqual(promgate.cap_drop, ['ALL']);
    assert.ok(promgate.security_opt?.includes('no-new-privileges:true'));
  });

  it("gives Prometheus a config that scrapes the gateway's metrics listener", () => {
    const { prometheus, config, flag } = readCompose();
    const configFile = flag('config.file');
    assert.ok(configFile);
    const { source } = composeVolume(prometheus, configFile);
    const scrape = parse(readFileSync(join(COMPOSE_DIR, source), 'utf8')) as {
      scrape_configs?: { job_name: string; static_configs?: { targets: string[] }[] }[];
    };
    const targets = scrape.scrape_configs
      ?.find((job) => job.job_name === 'promgate')
      ?.static_configs?.flatMap((group) => group.targets);
    assert.ok(config.metrics.listenAddress, 'the metrics listener is on');
    assert.deepEqual(targets, [`promgate:${splitHostPort(config.metrics.listenAddress).port}`]);
  });
});

describe('how promgate starts Node', () => {
  const root = join(import.meta.dirname, '..', '..');
  const exec =
    readFileSync(join(root, 'deploy/docker/entrypoint.sh'), 'utf8')
      .split('\n')
      .find((line) => line.startsWith('exec node ')) ?? '';

  /** Runs the entrypoint with a stand-in `node` that prints its arguments and PROMGATE_NODE_ARGS. */
  function entrypoint(env: Record<string, string>, args: string[] = []): string {
    const bin = mkdtempSync(join(tmpdir(), 'promgate-entrypoint-'));
    try {
      writeFileSync(
        join(bin, 'node'),
        // biome-ignore lint/suspicious/noTemplateCurlyInString: shell syntax, not a template
        '#!/bin/sh\nprintf "%s|" "$@"; printf "env=%s" "${PROMGATE_NODE_ARGS-unset}"\n',
        { mode: 0o755 },
      );
      return spawnSync('sh', [join(root, 'deploy/docker/entrypoint.sh'), ...args], {
        encoding: 'utf8',
        env: { PATH: `${bin}:${process.env.PATH}`, ...env },
      }).stdout;
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  }

  it("starts the image's CLI with Node's documented young-generation cap and --expose-gc, no V8 tuning flag", () => {
    assert.equal(
      entrypoint({}, ['healthcheck']),
      '--max-semi-space-size=4|--expose-gc|/app/dist/src/cli.js|healthcheck|env=unset',
    );
    assert.doesNotMatch(exec, /--[a-z]/, 'the exec line itself names no flag');
  });

  it("runs with Node's own defaults when PROMGATE_NODE_ARGS is empty", () => {
    assert.equal(entrypoint({ PROMGATE_NODE_ARGS: '' }, ['healthcheck']), '/app/dist/src/cli.js|healthcheck|env=unset');
  });

  it("starts this Node with the entrypoint's default flags (a flag Node no longer knows would stop the image)", () => {
    const flags = entrypoint({})
      .split('|')
      .filter((word) => word.startsWith('--'));
    assert.ok(flags.length > 0);
    const child = spawnSync(process.execPath, [...flags, '--eval', 'process.stdout.write("ran")'], {
      encoding: 'utf8',
    });
    assert.deepEqual([child.status, child.stdout, child.stderr], [0, 'ran', '']);
  });

  it('passes PROMGATE_NODE_ARGS to Node as an opt-in, and hides it from the CLI', () => {
    assert.equal(
      entrypoint({ PROMGATE_NODE_ARGS: '--max-old-space-size=96 --max-semi-space-size=8' }),
      '--max-old-space-size=96|--max-semi-space-size=8|/app/dist/src/cli.js|env=unset',
    );
  });

  it('runs the HEALTHCHECK through the entrypoint, so it reads the configuration the gateway reads', () => {
    assert.match(readFileSync(join(root, 'Dockerfile'), 'utf8'), /^ {2}CMD \["promgate-entrypoint", "healthcheck"\]$/m);
  });

  it('pins the base image to the Node version the tests run on', () => {
    const pinned = /^ARG NODE_IMAGE=node:(\S+)-bookworm-slim$/m.exec(
      readFileSync(join(root, 'Dockerfile'), 'utf8'),
    )?.[1];
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { version?: string }>;
    };
    assert.equal(pinned, lock.packages['node_modules/node']?.version);
  });

  it('limits glibc to two malloc arenas unless MALLOC_ARENA_MAX is set', () => {
    const bin = mkdtempSync(join(tmpdir(), 'promgate-entrypoint-'));
    try {
      // A stand-in for node that shows what the entrypoint handed it.
      writeFileSync(join(bin, 'node'), '#!/bin/sh\nprintf "%s" "$MALLOC_ARENA_MAX"\n', { mode: 0o755 });
      const run = (env: Record<string, string>) =>
        spawnSync('sh', [join(root, 'deploy/docker/entrypoint.sh')], {
          encoding: 'utf8',
          env: { PATH: `${bin}:${process.env.PATH}`, ...env },
        });
      assert.equal(run({}).stdout, '2');
      assert.equal(run({ MALLOC_ARENA_MAX: '8' }).stdout, '8');
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it('keeps a shebang that every env runs: busybox env (Alpine) has no -S for flags', () => {
    assert.equal(readFileSync(join(root, 'src/cli.ts'), 'utf8').split('\n', 1)[0], '#!/usr/bin/env node');
  });
});
