/** Pipelines: versions, step wiring checked at create time, deployments that survive restarts. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, expected, modelBytes, oipRequest, type TestServer, testServer } from './helpers.ts';

describe('pipelines', () => {
  let s: TestServer;
  before(async () => {
    s = await testServer();
    for (const f of ['digits_mlp', 'breast_cancer_scaler', 'breast_cancer_logreg_scaled', 'breast_cancer_logreg', 'add_mul']) {
      await s.client.uploadModel(f, modelBytes(f));
    }
  });
  after(() => s.close());

  it('makes a new version on every change and keeps the old ones', async () => {
    const v1 = await s.client.createPipeline('p', [{ model: 'breast_cancer_logreg' }]);
    assert.equal(v1.version, 1);
    const same = await s.client.createPipeline('p', [{ model: 'breast_cancer_logreg', version: 1 }]);
    assert.equal(same.version, 1);
    assert.equal(same.created, false);
    const v2 = await s.client.createPipeline('p', [{ model: 'breast_cancer_scaler' }, { model: 'breast_cancer_logreg_scaled' }]);
    assert.equal(v2.version, 2);
    assert.deepEqual(v2.steps[1].wiring, { input: 'variable' }, 'wired by position when the names differ');
    const versions = await s.client.pipelineVersions('p');
    assert.deepEqual(versions.map((v) => v.steps.length), [1, 2]);
    assert.deepEqual(versions[1].signature.outputs.map((o) => o.name), ['label', 'probabilities']);
    assert.deepEqual((await s.client.listPipelines()).map((p) => [p.name, p.latest_version]), [['p', 2]]);
  });

  it('refuses steps that do not fit, naming the tensors', async () => {
    let r = await call(s, 'POST', '/v1/pipelines', { name: 'bad', steps: [{ model: 'digits_mlp' }, { model: 'breast_cancer_logreg' }] });
    assert.equal(r.status, 422);
    assert.equal(r.json.code, 'PIPELINE_STEP_MISMATCH');
    assert.match(r.json.error, /'input'.*'label', 'probabilities'/);
    r = await call(s, 'POST', '/v1/pipelines', { name: 'bad', steps: [{ model: 'breast_cancer_scaler' }, { model: 'digits_mlp' }] });
    assert.equal(r.status, 422);
    assert.match(r.json.error, /'variable'.*'input'.*shape \[-1,30\] vs \[-1,64\]/);
    r = await call(s, 'POST', '/v1/pipelines', { name: 'bad', steps: [{ model: 'nope' }] });
    assert.equal(r.status, 404);
    assert.equal(r.json.code, 'MODEL_NOT_FOUND');
    r = await call(s, 'POST', '/v1/pipelines', { name: 'bad', steps: [{ model: 'digits_mlp', version: 5 }] });
    assert.equal(r.json.code, 'MODEL_VERSION_NOT_FOUND');
    r = await call(s, 'POST', '/v1/pipelines', { name: 'bad', steps: [] });
    assert.equal(r.status, 400);
    assert.equal(r.json.code, 'INVALID_REQUEST');
    assert.equal((await call(s, 'GET', '/v1/pipelines/bad')).status, 404, 'a refused pipeline leaves nothing behind');
  });

  it('refuses steps that are not model references with 400 naming the step, not 500 (A/B arms of null crashed)', async () => {
    for (const step of [{ ab: { arms: [null, null] } }, { shadow: { champion: null, challengers: [null] } }, { ab: { arms: [{ model: 'add_mul' }] } }, {}]) {
      const r = await call(s, 'POST', '/v1/pipelines', { name: 'odd', steps: [step] });
      assert.equal(r.status, 400, `${JSON.stringify(step)}: ${r.body}`);
      assert.equal(r.json.code, 'INVALID_REQUEST');
      assert.match(r.json.error, /steps\/0/);
    }
  });

  it('deploys, reports status, undeploys', async () => {
    await s.client.createPipeline('add', [{ model: 'add_mul' }]);
    let r = await call(s, 'POST', '/v2/models/add/infer', oipRequest(expected('add_mul')));
    assert.equal(r.status, 409);
    assert.equal(r.json.code, 'PIPELINE_NOT_DEPLOYED');
    assert.equal((await call(s, 'GET', '/v2/models/add/ready')).status, 503);
    const st = await s.client.deploy('add', { replicas: 2 });
    assert.equal(st.status, 'running');
    assert.equal(st.config?.replicas, 2);
    r = await call(s, 'POST', '/v2/models/add/infer', oipRequest(expected('add_mul')));
    assert.equal(r.status, 200);
    assert.deepEqual((await s.client.listDeployments()).map((d) => d.pipeline), ['add']);
    assert.equal((await s.client.undeploy('add')).status, 'undeployed');
    assert.equal((await call(s, 'POST', '/v2/models/add/infer', oipRequest(expected('add_mul')))).status, 409);
    r = await call(s, 'POST', '/v1/pipelines/add/deploy', { replicas: -1 });
    assert.equal(r.status, 400);
    r = await call(s, 'POST', '/v1/pipelines/add/deploy', { version: 3 });
    assert.equal(r.json.code, 'PIPELINE_VERSION_NOT_FOUND');
  });

  it('deploys an older version on request and switches back', async () => {
    await s.client.deploy('p', { version: 1 });
    let r = await call(s, 'POST', '/v2/models/p/infer', oipRequest(expected('breast_cancer_logreg')));
    assert.equal(r.json.model_version, '1');
    await s.client.deploy('p');
    r = await call(s, 'POST', '/v2/models/p/infer', oipRequest(expected('breast_cancer_chain')));
    assert.equal(r.json.model_version, '2');
  });
});

describe('deployments survive a restart', () => {
  it('restores what was deployed, and only that', async () => {
    const first = await testServer();
    const dataDir = first.dataDir;
    for (const f of ['digits_mlp', 'add_mul']) await first.client.uploadModel(f, modelBytes(f));
    await first.client.createPipeline('digits', [{ model: 'digits_mlp' }]);
    await first.client.createPipeline('add', [{ model: 'add_mul' }]);
    await first.client.deploy('digits', { replicas: 2 });
    await first.client.deploy('add');
    await first.client.undeploy('add');
    await first.close();

    const second = await testServer({ dataDir });
    try {
      const st = await second.client.deploymentStatus('digits');
      assert.equal(st.status, 'running');
      assert.equal(st.config?.replicas, 2);
      const r = await call(second, 'POST', '/v2/models/digits/infer', oipRequest(expected('digits_mlp')));
      assert.equal(r.status, 200);
      assert.deepEqual(r.json.outputs.find((o: any) => o.name === 'label').data, expected('digits_mlp').outputs.label.data);
      assert.equal((await second.client.deploymentStatus('add')).status, 'undeployed');
    } finally {
      await second.close();
    }
  });
});
