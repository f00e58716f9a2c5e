/**
 * The deployment files (docker-compose.yml, deploy/, Dockerfile, the README's production steps)
 * hold to the rules that make a first `docker compose up --scale api=2 --scale worker=2` and a
 * `kubectl apply -k deploy/kubernetes` work: no retired Temporal images or tools, nothing private
 * published, nothing fixed that stops scaling, every setting one the app reads. No Temporal or
 * Docker engine is needed; `docker compose config` and `kubectl kustomize` run when present.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { ConfigSchema } from '../src/config';
import { allSearchAttributeKeys } from '../src/workflows/search-attributes';
import { commands } from '../src/worker/namespace-setup';

const ROOT = path.join(__dirname, '..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

type Service = Record<string, any>;
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const APP_SERVICES = ['migrate', 'worker', 'api'];

/** The variable names the app reads: the keys of the zod object inside ConfigSchema's transform. */
function schemaKeys(schema: unknown): string[] {
  const s = schema as { shape?: Record<string, unknown>; in?: unknown };
  if (s.shape) return Object.keys(s.shape);
  if (s.in) return schemaKeys(s.in);
  throw new Error('ConfigSchema is neither an object nor a pipe from one');
}
const configKeys = new Set(schemaKeys(ConfigSchema));

const envOf = (service: Service): Record<string, unknown> => {
  const env = service.environment ?? {};
  if (!Array.isArray(env)) return env;
  return Object.fromEntries(env.map((line: string) => [line.split('=')[0], line.slice(line.indexOf('=') + 1)]));
};

/** "127.0.0.1:8233:8080" → { host: "127.0.0.1", published: "8233", target: "8080" }; long syntax too. */
function portsOf(service: Service): { host?: string; published?: string; target: string }[] {
  return (service.ports ?? []).map((p: unknown) => {
    if (typeof p === 'object' && p !== null) {
      const o = p as { host_ip?: string; published?: string | number; target: string | number };
      return { host: o.host_ip, published: o.published?.toString(), target: String(o.target) };
    }
    const parts = interpolateDefaults(String(p)).split(':');
    const target = parts.pop()!.split('/')[0]!;
    const published = parts.pop();
    return { host: parts.pop(), published, target };
  });
}

/** `${NAME:-default}` → default, as compose reads it when NAME is unset. */
const interpolateDefaults = (text: string) => text.replace(/\$\{[A-Za-z_][A-Za-z0-9_]*:-([^}]*)\}/g, '$1');

/** Shell text of a file without its comment lines. */
const withoutComments = (text: string) =>
  text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n');

describe('docker-compose.yml', () => {
  it('runs a current Temporal: no auto-setup image, no tctl anywhere it runs commands', () => {
    for (const [name, s] of Object.entries(services)) {
      expect([name, s.image ?? '']).not.toEqual([name, expect.stringMatching(/auto-setup/)]);
      const commands = JSON.stringify([s.command, s.entrypoint, s.healthcheck?.test]);
      expect([name, commands]).not.toEqual([name, expect.stringMatching(/\btctl\b/)]);
    }
    expect(services.temporal?.image).toMatch(/^temporalio\/server:1\.29\.\d+$/);
    expect(services.temporal?.healthcheck?.test).toEqual(expect.arrayContaining(['temporal', 'operator', 'cluster', 'health']));
    for (const script of ['deploy/temporal/setup-schema.sh', 'deploy/temporal/create-namespace.sh']) {
      expect(withoutComments(read(script))).not.toMatch(/\btctl\b/);
    }
  });

  it('sets Temporal up in order: schema, then server, then namespace, from scripts that exist', () => {
    expect(services['temporal-schema']?.image).toMatch(/^temporalio\/admin-tools:1\.29\./);
    expect(services.temporal?.depends_on?.['temporal-schema']?.condition).toBe('service_completed_successfully');
    expect(services['temporal-namespace']?.depends_on?.temporal?.condition).toBe('service_healthy');
    expect(withoutComments(read('deploy/temporal/setup-schema.sh'))).toMatch(/temporal-sql-tool[\s\S]*update-schema/);
    expect(withoutComments(read('deploy/temporal/create-namespace.sh'))).toMatch(/temporal operator namespace create/);
    for (const s of Object.values(services)) {
      for (const volume of s.volumes ?? []) {
        const source = String(volume).split(':')[0]!;
        if (source.startsWith('.')) expect([source, existsSync(path.join(ROOT, source))]).toEqual([source, true]);
      }
    }
  });

  it("publishes neither Temporal's gRPC port nor anything private beyond loopback", () => {
    for (const [name, s] of Object.entries(services)) {
      for (const p of portsOf(s)) {
        expect([name, p.target]).not.toEqual([name, '7233']);
        if (name !== 'proxy') expect([name, p.host]).toEqual([name, '127.0.0.1']);
      }
    }
    expect(portsOf(services['temporal-ui']!)).toEqual([{ host: '127.0.0.1', published: '8233', target: '8080' }]);
  });

  it('lets api and worker scale: no host ports, no container_name; the proxy publishes the API', () => {
    for (const name of ['api', 'worker']) {
      expect([name, services[name]?.ports]).toEqual([name, undefined]);
      expect([name, services[name]?.container_name]).toEqual([name, undefined]);
    }
    const published = portsOf(services.proxy!);
    expect(published).toHaveLength(1);
    expect(published[0]!.published).toBe('3000');
    const conf = read('deploy/nginx/api.conf');
    expect(conf).toMatch(new RegExp(`listen ${published[0]!.target};`));
    expect(conf).toMatch(/server api:3000 resolve;/);
    expect(envOf(services.api!).PORT).toBe(3000);
    const stream = /location \/api\/v1\/conversations\/stream \{([^}]*)\}/.exec(conf)?.[1] ?? '';
    expect(stream).toMatch(/proxy_buffering off;/);
    expect(stream).toMatch(/proxy_read_timeout \d+h;/);
  });

  it('gives the app services the deployment settings, only names the app reads, and one image', () => {
    const images = new Set(APP_SERVICES.map((name) => services[name]?.image));
    expect(images.size).toBe(1);
    for (const name of APP_SERVICES) {
      const env = envOf(services[name]!);
      for (const required of [
        'TEMPORAL_UI_URL',
        'DB_POOL_SIZE',
        'TEMPORAL_MANAGE_NAMESPACE',
        'TEMPORAL_ID_PREFIX',
        'WEBHOOK_TEMPORAL_TIMEOUT_MS',
        'WORKFLOW_BUNDLE_PATH',
      ]) {
        expect([name, required, required in env]).toEqual([name, required, true]);
      }
      expect(Object.keys(env).filter((key) => !configKeys.has(key))).toEqual([]);
    }
    expect(envOf(services.worker!).WORKER_METRICS_HOST).toBe('0.0.0.0');
    expect(envOf(services.worker!).WORKFLOW_BUNDLE_PATH).toBe(dockerfileBundlePath());
  });

  it('starts in a working order: api checks /ready, api and worker wait for the migration', () => {
    expect(JSON.stringify(services.api?.healthcheck?.test)).toContain('/ready');
    for (const name of ['api', 'worker']) {
      expect([name, services[name]?.depends_on?.migrate?.condition]).toEqual([name, 'service_completed_successfully']);
    }
    expect(services.migrate?.depends_on?.postgres?.condition).toBe('service_healthy');
  });

  const composeClient = findComposeClient();
  const composeCheck = composeClient ? it : it.skip;
  composeCheck(`docker compose config accepts the file${composeClient ? '' : ' (skipped: no docker compose client on this machine)'}`, () => {
    const env = { ...process.env, WHATSAPP_APP_SECRET: 'x', WHATSAPP_VERIFY_TOKEN: 'x', API_KEYS: 'x'.repeat(16) + ':admin', JWT_SECRET: 'x'.repeat(32) };
    const result = spawnSync(composeClient![0]!, [...composeClient!.slice(1), '-f', 'docker-compose.yml', 'config', '--quiet'], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
    });
    expect({ status: result.status, stderr: result.stderr.trim() }).toEqual({ status: 0, stderr: '' });
  });
});

function findComposeClient(): string[] | undefined {
  for (const cmd of [['docker', 'compose'], ['docker-compose']]) {
    const probe = spawnSync(cmd[0]!, [...cmd.slice(1), 'version'], { encoding: 'utf8' });
    if (probe.status === 0) return cmd;
  }
  return undefined;
}

describe('deploy/kubernetes', () => {
  const dir = path.join(ROOT, 'deploy', 'kubernetes');
  const manifests = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .flatMap((f) => parseAllDocuments(readFileSync(path.join(dir, f), 'utf8')).map((d) => ({ file: f, doc: d.toJSON() as Record<string, any> })));
  const find = (kind: string, name: string) => manifests.find((m) => m.doc.kind === kind && m.doc.metadata?.name === name)?.doc;
  const kustomization = parse(readFileSync(path.join(dir, 'kustomization.yaml'), 'utf8')) as { resources: string[] };

  const configMap = manifests.find((m) => m.doc.kind === 'ConfigMap')!.doc;
  const secret = manifests.find((m) => m.doc.kind === 'Secret')!;
  const api = find('Deployment', 'whatsapp-api')!;
  const worker = find('Deployment', 'whatsapp-worker')!;
  const container = (d: Record<string, any>) => d.spec.template.spec.containers[0];
  const portNumber = (c: Record<string, any>, port: string | number) =>
    typeof port === 'number' ? port : c.ports.find((p: { name: string }) => p.name === port)?.containerPort;

  it('are namespace-agnostic, and the kustomization applies all but the example Secret', () => {
    for (const { file, doc } of manifests) expect([file, doc.metadata?.namespace]).toEqual([file, undefined]);
    expect(secret.file).toBe('secret.example.yaml');
    const files = new Set(manifests.map((m) => m.file));
    files.delete('secret.example.yaml');
    expect([...kustomization.resources].sort()).toEqual([...files].sort());
  });

  it('run the API with readiness on /ready and liveness on /live, behind a Service', () => {
    const c = container(api);
    expect(api.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(c.command).toEqual(['npm', 'run', 'api']);
    expect(c.readinessProbe.httpGet.path).toBe('/ready');
    expect(c.livenessProbe.httpGet.path).toBe('/live');
    expect(portNumber(c, c.readinessProbe.httpGet.port)).toBe(Number(configMap.data.PORT));
    expect(c.resources.requests).toBeDefined();
    const service = find('Service', 'whatsapp-api')!;
    expect(service.spec.selector).toEqual(api.spec.selector.matchLabels);
    expect(portNumber(c, service.spec.ports[0].targetPort)).toBe(3000);
  });

  it("run the worker with probes on its metrics server, reachable on the pod's address", () => {
    const c = container(worker);
    expect(worker.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(c.command).toEqual(['npm', 'run', 'worker']);
    expect(c.livenessProbe.httpGet.path).toBe('/metrics');
    expect(portNumber(c, c.livenessProbe.httpGet.port)).toBe(Number(configMap.data.WORKER_METRICS_PORT));
    expect(configMap.data.WORKER_METRICS_HOST).toBe('0.0.0.0');
  });

  it('migrate in a one-shot Job and keep a pod of each through disruptions', () => {
    const job = manifests.find((m) => m.doc.kind === 'Job')!.doc;
    expect(container(job).command).toEqual(['npm', 'run', 'migrate']);
    expect(job.spec.template.spec.restartPolicy).toMatch(/^(Never|OnFailure)$/);
    const budgets = manifests.filter((m) => m.doc.kind === 'PodDisruptionBudget').map((m) => m.doc);
    for (const d of [api, worker]) {
      const labels = d.spec.template.metadata.labels;
      const covering = budgets.filter((b) => Object.entries(b.spec.selector.matchLabels).every(([k, v]) => labels[k] === v));
      expect([d.metadata.name, covering.length]).toEqual([d.metadata.name, 1]);
    }
  });

  it('take every setting from the ConfigMap and Secret, naming only variables the app reads', () => {
    for (const d of [api, worker, manifests.find((m) => m.doc.kind === 'Job')!.doc]) {
      expect(container(d).envFrom).toEqual([{ configMapRef: { name: configMap.metadata.name } }, { secretRef: { name: secret.doc.metadata.name } }]);
    }
    const names = [...Object.keys(configMap.data), ...Object.keys(secret.doc.stringData)];
    expect(names.filter((n) => !configKeys.has(n))).toEqual([]);
    for (const required of [
      'TEMPORAL_UI_URL',
      'DB_POOL_SIZE',
      'TEMPORAL_MANAGE_NAMESPACE',
      'TEMPORAL_ID_PREFIX',
      'WEBHOOK_TEMPORAL_TIMEOUT_MS',
      'WORKFLOW_BUNDLE_PATH',
    ]) {
      expect([required, required in configMap.data]).toEqual([required, true]);
    }
    expect(configMap.data.WORKFLOW_BUNDLE_PATH).toBe(dockerfileBundlePath());
  });

  const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
  (kubectl ? it : it.skip)(`kubectl kustomize renders them${kubectl ? '' : ' (skipped: no kubectl on this machine)'}`, () => {
    const result = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
    expect({ status: result.status, stderr: result.stderr.trim() }).toEqual({ status: 0, stderr: '' });
    expect(
      parseAllDocuments(result.stdout)
        .map((d) => (d.toJSON() as { kind: string }).kind)
        .sort(),
    ).toEqual(['ConfigMap', 'Deployment', 'Deployment', 'Job', 'PodDisruptionBudget', 'PodDisruptionBudget', 'Service']);
  });
});

/** The path the Dockerfile sets in WORKFLOW_BUNDLE_PATH. */
function dockerfileBundlePath(): string | undefined {
  return /^ENV WORKFLOW_BUNDLE_PATH=(\S+)$/m.exec(read('Dockerfile'))?.[1];
}

describe('Dockerfile', () => {
  it('builds the workflow bundle into the image and points WORKFLOW_BUNDLE_PATH at it', () => {
    const dockerfile = read('Dockerfile');
    const bundlePath = dockerfileBundlePath();
    expect(bundlePath).toBe('/app/dist/workflow-bundle.js');
    const build = /^RUN npm run build:bundle(?: -- (\S+))?$/m.exec(dockerfile);
    expect(build).not.toBeNull();
    if (build?.[1]) expect(build[1]).toBe(bundlePath);
    // The bundle is built after the sources it bundles are in the image.
    expect(dockerfile.indexOf('COPY src ./src')).toBeGreaterThan(-1);
    expect(dockerfile.indexOf('COPY src ./src')).toBeLessThan(build!.index);
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(pkg.scripts['build:bundle']).toBe('tsx scripts/build-workflow-bundle.ts');
    expect(dockerfile).toMatch(/^COPY scripts\/build-workflow-bundle\.ts /m);
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim());
    for (const needed of ['src', 'scripts', 'migrations']) expect([needed, ignored.includes(needed)]).toEqual([needed, false]);
  });
});

describe('README, Running in production', () => {
  const readme = read('README.md');
  const section = readme.slice(readme.indexOf('## Running in production'), readme.indexOf('\n## ', readme.indexOf('## Running in production') + 1));
  it('gives the commands that create every search attribute the workflows use, with its type', () => {
    // The same commands the worker prints when TEMPORAL_MANAGE_NAMESPACE=false finds them missing.
    const names = allSearchAttributeKeys.map((k) => k.name);
    for (const command of commands('whatsapp', names, 'cli')) expect(section).toContain(command);
    for (const command of commands('whatsapp', names, 'tcld'))
      expect(section).toContain(command.replace(/^tcld namespace search-attributes add --namespace whatsapp /, ''));
  });
});
