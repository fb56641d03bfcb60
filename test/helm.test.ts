/**
 * The Helm chart (deploy/helm/bettong): lints, and renders objects that run the server as it
 * expects: probes on the health routes, the Dockerfile's ports, the token and database URL from
 * Secrets, a non-root read-only container, the HPA, and the drain inside the grace period.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { ROOT } from './helpers.ts';
import { goTool } from './go-tools.ts';

const CHART = path.join(ROOT, 'deploy', 'helm', 'bettong');
const helm = (...args: string[]) => execFileSync(goTool('helm'), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

type K8sObject = { kind: string; metadata: { name: string; annotations?: Record<string, string> }; spec: any; stringData?: Record<string, string> };

function render(...set: string[]): K8sObject[] {
  const out = helm('template', 'demo', CHART, ...set.flatMap((s) => ['--set', s]));
  return parseAllDocuments(out).map((d) => d.toJS()).filter(Boolean);
}

const one = (objects: K8sObject[], kind: string) => {
  const found = objects.filter((o) => o.kind === kind);
  assert.equal(found.length, 1, `one ${kind}`);
  return found[0];
};

const envOf = (container: any) => Object.fromEntries((container.env as any[]).map((e) => [e.name, e.value ?? e.valueFrom]));

describe('the Helm chart', () => {
  it('lints, with the default values and with a scaled-out setup', () => {
    assert.match(helm('lint', '--strict', CHART), /0 chart\(s\) failed/);
    assert.match(helm('lint', '--strict', CHART, '--set', 'autoscaling.enabled=true', '--set', 'existingSecret=bettong'), /0 chart\(s\) failed/);
  });

  it('runs the server with health probes, its two ports and a drain that fits the grace period', () => {
    const objects = render('adminToken=t0ken');
    const deployment = one(objects, 'Deployment');
    const pod = deployment.spec.template.spec;
    const [c] = pod.containers;
    assert.equal(c.readinessProbe.httpGet.path, '/v2/health/ready');
    assert.equal(c.livenessProbe.httpGet.path, '/v2/health/live');
    assert.deepEqual(c.ports.map((p: any) => [p.name, p.containerPort]), [['http', 8080], ['grpc', 8081]]);
    const env = envOf(c);
    assert.equal(env.BETTONG_PORT, '8080');
    assert.equal(env.BETTONG_GRPC_PORT, '8081');
    assert.equal(env.BETTONG_HOST, '0.0.0.0');
    assert.equal(env.BETTONG_AUTH, '1', 'outside loopback the server requires tokens');
    // The server gives gRPC calls 10 s to finish on SIGTERM (src/server/grpc), after the preStop pause.
    assert.ok(pod.terminationGracePeriodSeconds > 10 + Number(c.lifecycle.preStop.exec.command[1]), 'grace period outlasts preStop + drain');

    const service = one(objects, 'Service');
    assert.deepEqual(service.spec.ports.map((p: any) => [p.name, p.port, p.targetPort]), [['http', 8080, 'http'], ['grpc', 8081, 'grpc']]);
    assert.deepEqual(service.spec.selector, deployment.spec.selector.matchLabels);

    const annotations = deployment.spec.template.metadata.annotations;
    assert.equal(annotations['prometheus.io/scrape'], 'true');
    assert.equal(annotations['prometheus.io/path'], '/metrics');
    assert.equal(annotations['prometheus.io/port'], '8080');
  });

  it('runs as a non-root user on a read-only root file system, with emptyDirs for data and scratch', () => {
    const pod = one(render(), 'Deployment').spec.template.spec;
    const [c] = pod.containers;
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.ok(pod.securityContext.runAsUser > 0, 'a numeric non-root user (the kubelet cannot check a user name)');
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
    const mounts = Object.fromEntries(c.volumeMounts.map((m: any) => [m.mountPath, m.name]));
    assert.equal(envOf(c).BETTONG_DATA_DIR, '/var/lib/bettong');
    for (const dir of ['/var/lib/bettong', '/tmp']) {
      const volume = pod.volumes.find((v: any) => v.name === mounts[dir]);
      assert.ok(volume?.emptyDir, `${dir} is an emptyDir`);
    }
    assert.ok(c.resources.requests.cpu, 'a CPU request (the HPA scales on it)');
  });

  it('takes the admin token and the database URL from the chart\'s Secret', () => {
    const objects = render('adminToken=t0ken', 'database.url=postgres://bettong:pw@db:5432/bettong', 'replicaCount=3');
    const secret = one(objects, 'Secret');
    assert.deepEqual(secret.stringData, { 'admin-token': 't0ken', 'database-url': 'postgres://bettong:pw@db:5432/bettong' });
    const deployment = one(objects, 'Deployment');
    assert.equal(deployment.spec.replicas, 3);
    const env = envOf(deployment.spec.template.spec.containers[0]);
    assert.deepEqual(env.BETTONG_ADMIN_TOKEN, { secretKeyRef: { name: secret.metadata.name, key: 'admin-token', optional: false } });
    assert.deepEqual(env.BETTONG_DATABASE_URL, { secretKeyRef: { name: secret.metadata.name, key: 'database-url', optional: false } });
    assert.ok(!JSON.stringify(deployment).includes('t0ken'), 'the token is never in the Deployment itself');
  });

  it('uses an existing Secret instead, and makes none', () => {
    const objects = render('existingSecret=ops-bettong', 'secretKeys.databaseUrl=url');
    assert.equal(objects.filter((o) => o.kind === 'Secret').length, 0);
    const env = envOf(one(objects, 'Deployment').spec.template.spec.containers[0]);
    assert.equal(env.BETTONG_ADMIN_TOKEN.secretKeyRef.name, 'ops-bettong');
    assert.deepEqual(env.BETTONG_DATABASE_URL.secretKeyRef, { name: 'ops-bettong', key: 'url', optional: true });
  });

  it('scales with an HPA on the Deployment, and passes the artifact store on', () => {
    const objects = render('autoscaling.enabled=true', 'autoscaling.maxReplicas=6', 'existingSecret=ops-bettong',
      'artifacts.url=s3://models/bettong', 'artifacts.endpoint=http://seaweedfs:8333', 'artifacts.credentialsSecret=s3-keys');
    const hpa = one(objects, 'HorizontalPodAutoscaler');
    const deployment = one(objects, 'Deployment');
    assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
    assert.equal(hpa.spec.minReplicas, 2);
    assert.equal(hpa.spec.maxReplicas, 6);
    assert.equal(deployment.spec.replicas, undefined, 'the HPA owns the replica count');
    const c = deployment.spec.template.spec.containers[0];
    assert.equal(envOf(c).BETTONG_ARTIFACTS, 's3://models/bettong');
    assert.equal(envOf(c).BETTONG_ARTIFACTS_ENDPOINT, 'http://seaweedfs:8333');
    assert.deepEqual(c.envFrom, [{ secretRef: { name: 's3-keys' } }]);
  });

  it('refuses several servers without a shared database, and values its schema does not know', () => {
    assert.throws(() => render('replicaCount=2'), /needs database\.url or existingSecret/);
    assert.throws(() => render('replicas=2'), /additional properties 'replicas' not allowed/i);
    assert.throws(() => render('artifacts.url=gs://models'), /artifacts\.url/);
    assert.throws(() => render('database.url=mysql://db/bettong'), /database\.url/);
  });
});
