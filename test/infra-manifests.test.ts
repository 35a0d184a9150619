// The deployment artifacts checked by the real tools, offline: the Helm chart (infra/helm/dapt) rendered by
// `helm template` for several values combinations, every rendered object validated by kubeconform against the
// Kubernetes JSON schemas, and the Dockerfiles (infra/docker) linted by hadolint. The tools and schemas are
// pinned and cached by infra/k8s-tools.sh (a first run builds helm and kubeconform from source: minutes).
// Run: node --import tsx --test test/infra-manifests.test.ts
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CONFIG_ENV, loadConfig } from '../config';
import { tempDir } from './helpers/tmp';

const ROOT = path.resolve(__dirname, '..');
const CHART = path.join(ROOT, 'infra/helm/dapt');
const DOCKERFILES = ['infra/docker/Dockerfile.cpu', 'infra/docker/Dockerfile.gpu'];

interface Tools {
  hadolint: string;
  helm: string;
  kubeconform: string;
  k8s_schemas: string;
  /** JSON schemas of the KEDA and Prometheus Operator CRDs (ScaledObject, TriggerAuthentication, ServiceMonitor). */
  crd_schemas: string;
  k8s_version: string;
}
// Kubernetes objects as rendered YAML: only the fields these tests read are typed.
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}
interface Container {
  args: string[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  resources?: { limits?: Record<string, unknown>; requests?: Record<string, unknown> };
  volumeMounts: { name: string; mountPath: string }[];
  securityContext: Record<string, unknown>;
}
interface PodSpec {
  containers: Container[];
  volumes: { name: string; emptyDir?: { medium?: string; sizeLimit?: string }; secret?: { secretName: string } }[];
  nodeSelector?: Record<string, string>;
  tolerations?: { key: string }[];
}
interface Deployment extends K8sObject {
  spec: { replicas?: number; template: { metadata: { annotations?: Record<string, string> }; spec: PodSpec } };
}
interface Trigger {
  type: string;
  metadata: Record<string, string>;
  authenticationRef?: { name: string };
}

let tools: Tools;
let tmp: string;
before(
  () => {
    const out = execFileSync('bash', [path.join(ROOT, 'infra/k8s-tools.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    tools = Object.fromEntries(out.trim().split('\n').map((l) => l.split(/=(.*)/s).slice(0, 2))) as unknown as Tools;
    tmp = tempDir('manifests');
  },
  { timeout: 30 * 60_000 },
);
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// Values every render needs (the chart refuses to render without credentials).
const CREDS = ['credentials.s3AccessKey=dapt', 'credentials.s3SecretKey=s3cr3t', 'credentials.temporalCert=CERT', 'credentials.temporalKey=KEY', 'credentials.temporalCA=CA'];

function helm(sets: string[], valuesFiles: string[] = []): { status: number | null; stdout: string; stderr: string } {
  // --kube-version: a helm built with `go install` assumes Kubernetes 1.20 (its release ldflags are missing).
  const args = ['template', 'dapt', CHART, '--namespace', 'dapt', '--kube-version', tools.k8s_version, ...valuesFiles.flatMap((f) => ['-f', f]), ...sets.flatMap((s) => ['--set', s])];
  return spawnSync(tools.helm, args, { encoding: 'utf8' });
}

function render(sets: string[], valuesFiles: string[] = []): { yaml: string; objects: K8sObject[] } {
  const r = helm(sets, valuesFiles);
  assert.equal(r.status, 0, `helm template failed:\n${r.stderr}`);
  const objects = parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
  return { yaml: r.stdout, objects };
}

interface KubeconformResult {
  status: number | null;
  summary: { valid: number; invalid: number; errors: number; skipped: number };
  problems: string[];
}

function kubeconform(manifests: string): KubeconformResult {
  // Only local schemas: built-in kinds, then the CRDs. A kind found in neither is an error, not a skip.
  const builtIn = `${tools.k8s_schemas}/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json`;
  const crds = `${tools.crd_schemas}/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json`;
  const r = spawnSync(
    tools.kubeconform,
    ['-strict', '-summary', '-output', 'json', '-kubernetes-version', tools.k8s_version, '-schema-location', builtIn, '-schema-location', crds, '-'],
    { input: manifests, encoding: 'utf8' },
  );
  const out = JSON.parse(r.stdout) as {
    resources?: { kind: string; name: string; status: string; msg: string }[];
    summary: KubeconformResult['summary'];
  };
  const problems = (out.resources ?? []).filter((x) => x.status !== 'statusValid').map((x) => `${x.kind}/${x.name}: ${x.msg}`);
  return { status: r.status, summary: out.summary, problems };
}

function assertValid(yaml: string, objects: K8sObject[]): void {
  const r = kubeconform(yaml);
  assert.deepEqual(r.problems, [], 'kubeconform found invalid objects');
  assert.equal(r.status, 0);
  assert.equal(r.summary.skipped, 0);
  assert.equal(r.summary.valid, objects.length, 'every rendered object was validated against a schema');
}

const byKind = <T extends K8sObject>(objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind) as T[];
const named = <T extends K8sObject>(objects: K8sObject[], kind: string, name: string): T => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `no ${kind} ${name} rendered (got ${objects.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')})`);
  return o as T;
};
const worker = (d: Deployment) => d.spec.template.spec.containers[0];

describe('helm chart', () => {
  test('default values: a cpu and a gpu worker, valid against the Kubernetes schemas', () => {
    const { yaml, objects } = render(CREDS);
    assertValid(yaml, objects);
    assert.deepEqual(byKind(objects, 'Deployment').map((d) => d.metadata.name).sort(), ['dapt-worker-cpu', 'dapt-worker-gpu']);
    // Node drains evict one worker of a kind at a time.
    assert.deepEqual(
      byKind<K8sObject & { spec: { maxUnavailable: number; selector: { matchLabels: Record<string, string> } } }>(objects, 'PodDisruptionBudget').map((p) => [
        p.metadata.name,
        p.spec.maxUnavailable,
        p.spec.selector.matchLabels['app.kubernetes.io/component'],
      ]),
      [
        ['dapt-worker-cpu', 1, 'worker-cpu'],
        ['dapt-worker-gpu', 1, 'worker-gpu'],
      ],
    );

    const cpu = named<Deployment>(objects, 'Deployment', 'dapt-worker-cpu');
    assert.deepEqual(worker(cpu).args, ['worker', '--queue', 'cpu', '--concurrency', '4']);
    assert.equal(cpu.spec.replicas, 2);
    assert.equal(worker(cpu).resources?.limits?.['nvidia.com/gpu'], undefined);
    assert.equal(worker(cpu).securityContext.readOnlyRootFilesystem, true);

    const gpu = named<Deployment>(objects, 'Deployment', 'dapt-worker-gpu');
    assert.deepEqual(worker(gpu).args, ['worker', '--queue', 'gpu', '--no-workflows']);
    assert.equal(worker(gpu).resources?.limits?.['nvidia.com/gpu'], 1);
    assert.deepEqual(gpu.spec.template.spec.nodeSelector, { 'nvidia.com/gpu.present': 'true' });
    assert.deepEqual(gpu.spec.template.spec.tolerations?.map((t) => t.key), ['nvidia.com/gpu']);
    const shm = gpu.spec.template.spec.volumes.find((v) => v.name === 'dshm');
    assert.equal(shm?.emptyDir?.medium, 'Memory');
    assert.ok(worker(gpu).volumeMounts.some((m) => m.mountPath === '/dev/shm'));
    // Multi-node pretraining: other pods reach this one's rendezvous at its pod IP; CPU workers host none.
    assert.equal(worker(gpu).env?.find((e) => e.name === 'DAPT_NODE_ADDRESS')?.valueFrom?.fieldRef?.fieldPath, 'status.podIP');
    assert.equal(worker(cpu).env?.find((e) => e.name === 'DAPT_NODE_ADDRESS'), undefined);

    // Metrics: pod annotations plus a headless Service for the port; no ServiceMonitor unless asked.
    assert.equal(cpu.spec.template.metadata.annotations?.['prometheus.io/port'], '9464');
    assert.equal(named(objects, 'Service', 'dapt-metrics').kind, 'Service');
    assert.equal(byKind(objects, 'ServiceMonitor').length, 0);
    assert.equal(byKind(objects, 'ScaledObject').length, 0);
  });

  test('the ConfigMap sets only variables config/index.ts reads, and they load as a cluster profile with mTLS', () => {
    // Mount the chart's Secret where the test can write it: the same keys, as files.
    const mount = path.join(tmp, 'secrets');
    fs.mkdirSync(mount, { recursive: true });
    const files = { 's3-access-key': 'dapt\n', 's3-secret-key': 's3cr3t\n', 'tls.crt': 'CERT', 'tls.key': 'KEY', 'ca.crt': 'CA' };
    for (const [k, v] of Object.entries(files)) fs.writeFileSync(path.join(mount, k), v);
    const { objects } = render([...CREDS, `credentials.mountPath=${mount}`, 'temporal.tls.serverName=temporal-frontend']);
    const env = (named(objects, 'ConfigMap', 'dapt-config') as K8sObject & { data: Record<string, string> }).data;

    const known = new Set(CONFIG_ENV.map((v) => v.name));
    assert.deepEqual(Object.keys(env).filter((k) => !known.has(k)), [], 'ConfigMap keys unknown to config/index.ts CONFIG_ENV');

    const cfg = loadConfig({}, env);
    assert.equal(cfg.profile.name, 'cluster');
    assert.equal(cfg.temporal.address, 'temporal-frontend.temporal.svc.cluster.local:7233');
    assert.equal(cfg.temporal.namespace, 'dapt');
    assert.deepEqual(cfg.temporal.tls, {
      caFile: path.join(mount, 'ca.crt'),
      certFile: path.join(mount, 'tls.crt'),
      keyFile: path.join(mount, 'tls.key'),
      serverName: 'temporal-frontend',
    });
    assert.equal(cfg.store.accessKey, 'dapt');
    assert.equal(cfg.store.secretKey, 's3cr3t');
    assert.equal(cfg.store.endpoint, 'http://minio.minio.svc.cluster.local:9000');

    const plain = render([...CREDS, `credentials.mountPath=${mount}`, 'temporal.tls.enabled=false']);
    const plainEnv = (named(plain.objects, 'ConfigMap', 'dapt-config') as K8sObject & { data: Record<string, string> }).data;
    assert.equal(loadConfig({}, plainEnv).temporal.tls, undefined);
    assert.deepEqual(Object.keys(plainEnv).filter((k) => k.startsWith('DAPT_TEMPORAL_TLS_')), []);
  });

  test('existingSecret, KEDA on the backlog, a ServiceMonitor and a GPU class', () => {
    const values = path.join(tmp, 'cluster-values.yaml');
    fs.writeFileSync(
      values,
      [
        'queuePrefix: team-a-',
        'credentials: {existingSecret: dapt-prod}',
        'metrics: {serviceMonitor: {enabled: true, labels: {release: prometheus}}}',
        'workers:',
        '  cpu:',
        '    autoscaling: {keda: {enabled: true, minReplicas: 1, maxReplicas: 30, targetQueueSize: 8}}',
        '  gpu-a100-80g:',
        '    enabled: true',
        '    image: gpu',
        '    queues: [gpu-a100-80g]',
        '    workflows: false',
        '    gpus: 8',
        '    shmSizeLimit: 64Gi',
        '    nodeSelector: {nvidia.com/gpu.product: NVIDIA-A100-SXM4-80GB}',
        '    tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]',
        '    autoscaling: {keda: {enabled: true, minReplicas: 0, maxReplicas: 4, targetQueueSize: 1}}',
        '  cpu-trainer: {enabled: true, image: gpu, queues: [cpu-trainer], workflows: false, replicas: 1, concurrency: 2, gpus: 0}',
        '',
      ].join('\n'),
    );
    const { yaml, objects } = render([], [values]);
    assertValid(yaml, objects);
    assert.equal(byKind(objects, 'Secret').length, 0, 'no Secret is created next to an existingSecret');

    const cpu = named<Deployment>(objects, 'Deployment', 'dapt-worker-cpu');
    assert.equal(cpu.spec.replicas, undefined, 'KEDA owns the replica count');
    assert.equal(cpu.spec.template.spec.volumes.find((v) => v.name === 'credentials')?.secret?.secretName, 'dapt-prod');

    const a100 = named<Deployment>(objects, 'Deployment', 'dapt-worker-gpu-a100-80g');
    assert.deepEqual(worker(a100).args, ['worker', '--queue', 'gpu-a100-80g', '--no-workflows']);
    assert.equal(worker(a100).resources?.limits?.['nvidia.com/gpu'], 8);
    assert.equal(a100.spec.template.spec.volumes.find((v) => v.name === 'dshm')?.emptyDir?.sizeLimit, '64Gi');
    // No scratch.sizeLimit: still an emptyDir (a null volume source would pass the schema but not the API server).
    assert.deepEqual(a100.spec.template.spec.volumes.find((v) => v.name === 'scratch')?.emptyDir, {});
    assert.equal(cpu.spec.template.spec.volumes.find((v) => v.name === 'scratch')?.emptyDir?.sizeLimit, '50Gi');

    // The trainer image on CPU nodes: no GPU request, no GPU node selection, no /dev/shm volume.
    const trainer = named<Deployment>(objects, 'Deployment', 'dapt-worker-cpu-trainer');
    assert.equal((trainer.spec.template.spec.containers[0] as Container & { image: string }).image, 'registry.example.com/dapt/worker-gpu:0.1.0');
    assert.deepEqual(worker(trainer).args, ['worker', '--queue', 'cpu-trainer', '--no-workflows', '--concurrency', '2']);
    assert.equal(worker(trainer).resources?.limits?.['nvidia.com/gpu'], undefined);
    assert.equal(trainer.spec.template.spec.nodeSelector, undefined);
    assert.equal(trainer.spec.template.spec.volumes.find((v) => v.name === 'dshm'), undefined);

    const so = named<K8sObject & { spec: { scaleTargetRef: { name: string }; minReplicaCount: number; maxReplicaCount: number; triggers: Trigger[] } }>(
      objects,
      'ScaledObject',
      'dapt-worker-cpu',
    );
    assert.equal(so.apiVersion, 'keda.sh/v1alpha1');
    assert.equal(so.spec.scaleTargetRef.name, 'dapt-worker-cpu');
    assert.equal(so.spec.maxReplicaCount, 30);
    // The cpu worker serves its stage queue and the pipeline workflows: both backlogs scale it.
    assert.deepEqual(
      so.spec.triggers.map((t) => [t.type, t.metadata.taskQueue, t.metadata.queueTypes, t.metadata.targetQueueSize, t.metadata.namespace]),
      [
        ['temporal', 'team-a-cpu', 'activity', '8', 'dapt'],
        ['temporal', 'team-a-pipelines', 'workflow,activity', '8', 'dapt'],
      ],
    );
    assert.ok(so.spec.triggers.every((t) => t.authenticationRef?.name === 'dapt-temporal'));
    const gpuSo = named<K8sObject & { spec: { minReplicaCount: number; triggers: Trigger[] } }>(objects, 'ScaledObject', 'dapt-worker-gpu-a100-80g');
    assert.equal(gpuSo.spec.minReplicaCount, 0, 'GPU pools may scale to zero');
    assert.deepEqual(gpuSo.spec.triggers.map((t) => t.metadata.taskQueue), ['team-a-gpu-a100-80g']);

    const auth = named<K8sObject & { spec: { secretTargetRef: { parameter: string; name: string; key: string }[] } }>(objects, 'TriggerAuthentication', 'dapt-temporal');
    assert.deepEqual(
      auth.spec.secretTargetRef.map((r) => [r.parameter, r.name, r.key]),
      [
        ['cert', 'dapt-prod', 'tls.crt'],
        ['key', 'dapt-prod', 'tls.key'],
        ['ca', 'dapt-prod', 'ca.crt'],
      ],
    );
    const sm = named<K8sObject & { spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string }[] } }>(objects, 'ServiceMonitor', 'dapt');
    assert.equal(sm.metadata.labels?.release, 'prometheus');
    const svc = named(objects, 'Service', 'dapt-metrics');
    for (const [k, v] of Object.entries(sm.spec.selector.matchLabels)) assert.equal(svc.metadata.labels?.[k], v, `the ServiceMonitor selects the metrics Service (${k})`);
    assert.deepEqual(sm.spec.endpoints.map((e) => e.port), ['metrics']);
  });

  test("an HPA on the worker's busy-slot metric instead of KEDA", () => {
    const { yaml, objects } = render([...CREDS, 'workers.cpu.autoscaling.hpa.enabled=true', 'workers.cpu.autoscaling.hpa.maxReplicas=12']);
    assertValid(yaml, objects);
    const hpa = named<K8sObject & { spec: { maxReplicas: number; metrics: { pods: { metric: { name: string; selector: { matchLabels: Record<string, string> } } } }[] } }>(
      objects,
      'HorizontalPodAutoscaler',
      'dapt-worker-cpu',
    );
    assert.equal(hpa.apiVersion, 'autoscaling/v2');
    assert.equal(hpa.spec.maxReplicas, 12);
    // The gauge worker/metrics.ts exports, for the worker's stage queue.
    assert.match(fs.readFileSync(path.join(ROOT, 'worker/metrics.ts'), 'utf8'), /name: 'dapt_worker_activity_slots_used'/);
    assert.deepEqual(hpa.spec.metrics[0].pods.metric, { name: 'dapt_worker_activity_slots_used', selector: { matchLabels: { queue: 'cpu' } } });
    assert.equal(named<Deployment>(objects, 'Deployment', 'dapt-worker-cpu').spec.replicas, undefined);
  });

  test('bad values fail the render with the value to fix', () => {
    const cases: [string[], RegExp][] = [
      [[], /credentials: set credentials.existingSecret, or credentials.s3AccessKey and credentials.s3SecretKey/],
      [[...CREDS, 'workers.cpu.autoscaling.keda.enabled=true', 'workers.cpu.autoscaling.hpa.enabled=true'], /workers.cpu.autoscaling: keda and hpa are both enabled/],
      [[...CREDS, 'workers.gpu.gpus=0'], /workers.gpu: queue "gpu" is a GPU queue but gpus is 0/],
      [[...CREDS, 'workers.cpu.workflows=false'], /no enabled worker has workflows: true/],
      [[...CREDS, 'workers.gpu.autoscaling.keda.enabled=true'], /workers.gpu.autoscaling.keda.maxReplicas is required/],
      // values.schema.json
      [[...CREDS, 'workers.cpu.replicas=two'], /at '\/workers\/cpu\/replicas': got string, want integer/],
      [[...CREDS, 'workers.cpu.queue=cpu'], /at '\/workers\/cpu': additional properties 'queue' not allowed/],
      [[...CREDS, 'temporal.address=temporal-frontend'], /at '\/temporal\/address': 'temporal-frontend' does not match pattern/],
      [[...CREDS, 'store.bucket=Dapt_Artifacts'], /at '\/store\/bucket'/],
      [[...CREDS, 'temporall.address=x'], /additional properties 'temporall' not allowed/],
    ];
    for (const [sets, message] of cases) {
      const r = helm(sets);
      assert.notEqual(r.status, 0, `helm template should fail for ${sets.slice(CREDS.length).join(' ') || '(no credentials)'}`);
      assert.match(r.stderr, message);
    }
  });

  test('kubeconform rejects a broken manifest', () => {
    const { yaml } = render(CREDS);
    // A misspelled field and a wrong type in the rendered cpu worker: both must be reported, not skipped.
    const broken = yaml.replace('terminationGracePeriodSeconds: 60', 'terminationGracePeriodSecond: 60').replace(/containerPort: 9464/, 'containerPort: "metrics-port"');
    assert.notEqual(broken, yaml);
    const r = kubeconform(broken);
    assert.notEqual(r.status, 0);
    assert.equal(r.summary.invalid, 1, r.problems.join('\n'));
    assert.match(r.problems.join('\n'), /additional properties 'terminationGracePeriodSecond' not allowed/);
    assert.match(r.problems.join('\n'), /containerPort': got string, want integer/);
  });

  test('kubeconform rejects broken custom resources (KEDA, Prometheus Operator)', () => {
    const { yaml } = render([...CREDS, 'workers.cpu.autoscaling.keda.enabled=true', 'metrics.serviceMonitor.enabled=true']);
    const broken = yaml.replace('scaleTargetRef:', 'scaleTargetReff:').replace('- parameter: cert', '- parametr: cert').replace('- port: metrics\n', '- portt: metrics\n');
    const r = kubeconform(broken);
    assert.notEqual(r.status, 0);
    const problems = r.problems.join('\n');
    assert.equal(r.summary.invalid, 3, problems);
    assert.match(problems, /ScaledObject\/dapt-worker-cpu: .*missing property 'scaleTargetRef'/);
    assert.match(problems, /TriggerAuthentication\/dapt-temporal: .*missing property 'parameter'/);
    assert.match(problems, /ServiceMonitor\/dapt: .*additional properties 'portt' not allowed/);
  });
});

describe('Temporal and MinIO values for their official charts', () => {
  test('parse, and name the persistence and mode dapt relies on', () => {
    const temporal = parseAllDocuments(fs.readFileSync(path.join(ROOT, 'infra/helm/values/temporal.yaml'), 'utf8'))[0].toJS() as {
      server: {
        config: { persistence: { datastores: Record<string, { sql: { pluginName: string; databaseName: string } }> }; namespaces: { namespace: { name: string }[] } };
        tls: Record<string, { enabled: boolean; requireClientAuth: boolean }>;
      };
    };
    const stores = temporal.server.config.persistence.datastores;
    assert.deepEqual(
      Object.entries(stores).map(([k, v]) => [k, v.sql.pluginName, v.sql.databaseName]),
      [
        ['default', 'postgres12', 'temporal'],
        ['visibility', 'postgres12', 'temporal_visibility'],
      ],
    );
    assert.deepEqual(temporal.server.config.namespaces.namespace.map((n) => n.name), ['dapt']);
    assert.equal(temporal.server.tls.frontend.requireClientAuth, true, 'the frontend requires client certificates (mTLS)');
    const minio = parseAllDocuments(fs.readFileSync(path.join(ROOT, 'infra/helm/values/minio.yaml'), 'utf8'))[0].toJS() as {
      mode: string;
      replicas: number;
      buckets: { name: string; versioning: boolean }[];
    };
    assert.equal(minio.mode, 'distributed');
    assert.equal(minio.replicas, 4);
    assert.deepEqual(minio.buckets.map((b) => [b.name, b.versioning]), [['dapt', true]]);
  });
});

describe('Dockerfiles', () => {
  test('hadolint finds nothing, at its strictest threshold', () => {
    for (const f of DOCKERFILES) {
      const r = spawnSync(tools.hadolint, ['--no-color', '--failure-threshold', 'style', path.join(ROOT, f)], { encoding: 'utf8' });
      assert.equal(`${r.stdout}${r.stderr}`.trim(), '', `hadolint on ${f}`);
      assert.equal(r.status, 0);
    }
  });

  test('hadolint rejects a careless Dockerfile', () => {
    const bad = path.join(tmp, 'Dockerfile.bad');
    fs.writeFileSync(bad, 'FROM node:latest\nRUN apt-get update && apt-get install -y curl\nCMD node index.js\n');
    const r = spawnSync(tools.hadolint, ['--no-color', bad], { encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    for (const rule of ['DL3007', 'DL3008', 'DL3015', 'DL3009', 'DL3025']) assert.match(r.stdout, new RegExp(rule), `expected ${rule} in:\n${r.stdout}`);
  });

  test('the images run dapt worker as a non-root user with pinned base images', () => {
    for (const f of DOCKERFILES) {
      const text = fs.readFileSync(path.join(ROOT, f), 'utf8');
      const froms = [...text.matchAll(/^ARG (\w+_IMAGE)=(\S+)$/gm)];
      assert.ok(froms.length > 0, `${f} pins its base images in ARGs`);
      for (const [, , image] of froms) assert.match(image, /:[0-9][\w.-]*$/, `${f}: ${image} is pinned to a version tag`);
      const users = [...text.matchAll(/^USER (\S+)$/gm)].map((m) => m[1]);
      assert.ok(users.length > 0 && users.at(-1) !== 'root', `${f} ends as a non-root user`);
      assert.match(text, /^ENTRYPOINT \["node", "\/opt\/dapt\/bin\/dapt.js"\]$/m);
      assert.match(text, /^CMD \["worker", "--queue", "(cpu|gpu)"/m);
    }
  });
});
