/**
 * The OpenAPI document says what the server does: real answers of every resource match the schemas it
 * documents for their status, and a known path called with a method it lacks answers 405 with Allow.
 * (test/python/test_openapi.py validates the document and runs Schemathesis against it.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { call, deployPipeline, expected, modelBytes, oipRequest, type TestServer, testServer } from './helpers.ts';

/** A JSON pointer segment inside a URI fragment. */
const segment = (s: string) => encodeURIComponent(s.replace(/~/g, '~0').replace(/\//g, '~1'));

describe('OpenAPI document', () => {
  let s: TestServer;
  let ajv: Ajv2020;
  let doc: any;

  before(async () => {
    s = await testServer();
    await deployPipeline(s, 'bc', ['breast_cancer_logreg']);
    doc = (await call(s, 'GET', '/openapi.json')).json;
    ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    ajv.addSchema(doc, 'openapi');
  });
  after(() => s.close());

  /** Calls the route and checks the answer against the schema documented for its status. */
  async function conforms(method: string, template: string, path: string, body?: unknown, status?: number, headers?: Record<string, string>) {
    const r = await call(s, method, path, body, headers);
    if (status !== undefined) assert.equal(r.status, status, `${method} ${path}: ${r.body}`);
    const op = doc.paths[template]?.[method.toLowerCase()];
    assert.ok(op, `${method} ${template} is documented`);
    const documented = op.responses[String(r.status)];
    assert.ok(documented, `${method} ${path} answered ${r.status}, documented: ${Object.keys(op.responses).join(', ')}; ${r.body}`);
    const type = String(r.headers.get('content-type')).split(';')[0];
    assert.ok(documented.content?.[type], `${method} ${path} ${r.status}: content type ${type} is documented`);
    if (type === 'application/json') {
      const pointer = ['paths', template, method.toLowerCase(), 'responses', String(r.status), 'content', type, 'schema'].map(segment).join('/');
      const validate = ajv.getSchema(`openapi#/${pointer}`)!;
      assert.ok(validate(r.json), `${method} ${path} ${r.status}: ${ajv.errorsText(validate.errors)}\n${r.body.toString().slice(0, 2000)}`);
    }
    return r;
  }

  it('documents every answer of the main resources, with the fields they have', async () => {
    const e = expected('breast_cancer_logreg');
    await conforms('POST', '/v2/models/{name}/infer', '/v2/models/bc/infer', oipRequest(e), 200);
    await conforms('POST', '/v1/pipelines/{name}/infer', '/v1/pipelines/bc/infer', [{ input: new Array(30).fill(0.5) }], 200);
    const octets = { 'content-type': 'application/octet-stream' };
    await conforms('POST', '/v1/models/{name}', '/v1/models/bc2', modelBytes('breast_cancer_logreg'), 201, octets);
    await conforms('POST', '/v1/models/{name}', '/v1/models/bc2', modelBytes('breast_cancer_logreg'), 200, octets);
    await conforms('GET', '/v1/models/{name}/versions/{version}/artifact', '/v1/models/bc2/versions/1/artifact', undefined, 200);
    const checks: [string, string, string, unknown, number][] = [
      ['GET', '/v1/models', '/v1/models', undefined, 200],
      ['GET', '/v1/models/{name}', '/v1/models/breast_cancer_logreg', undefined, 200],
      ['GET', '/v1/models/{name}/versions/{version}', '/v1/models/breast_cancer_logreg/versions/1', undefined, 200],
      ['GET', '/v1/models/{name}', '/v1/models/nope', undefined, 404],
      ['POST', '/v1/pipelines', '/v1/pipelines', { name: 'bc', steps: [{ model: 'breast_cancer_logreg' }] }, 200],
      ['POST', '/v1/pipelines', '/v1/pipelines', { name: 'bc2', steps: [{ model: 'bc2' }], validations: { sure: 'out.probabilities[1] <= 0.99' } }, 201],
      ['POST', '/v1/pipelines', '/v1/pipelines', { name: 'bad', steps: [{ model: 'nope' }] }, 404],
      ['GET', '/v1/pipelines', '/v1/pipelines', undefined, 200],
      ['GET', '/v1/pipelines/{name}', '/v1/pipelines/bc', undefined, 200],
      ['GET', '/v1/pipelines/{name}', '/v1/pipelines/bc2', undefined, 200],
      ['GET', '/v1/pipelines/{name}/versions', '/v1/pipelines/bc/versions', undefined, 200],
      ['GET', '/v1/pipelines/{name}/versions/{version}', '/v1/pipelines/bc/versions/1', undefined, 200],
      ['POST', '/v1/pipelines/{name}/deploy', '/v1/pipelines/bc2/deploy', { replicas: 0 }, 200],
      ['POST', '/v1/pipelines/{name}/infer', '/v1/pipelines/bc2/infer', [{ input: new Array(30).fill(0.5) }], 200],
      ['GET', '/v1/pipelines/{name}/deployment', '/v1/pipelines/bc2/deployment', undefined, 200],
      ['GET', '/v1/deployments', '/v1/deployments', undefined, 200],
      ['POST', '/v1/pipelines/{name}/undeploy', '/v1/pipelines/bc2/undeploy', undefined, 200],
      ['POST', '/v1/pipelines/{name}/infer', '/v1/pipelines/bc2/infer', [{ input: new Array(30).fill(0.5) }], 409],
      ['GET', '/v1/pipelines/{name}/logs', '/v1/pipelines/bc/logs', undefined, 200],
      ['GET', '/v1/pipelines/{name}/logs', '/v1/pipelines/bc/logs?start=yesterday', undefined, 400],
      ['GET', '/v1/pipelines/{name}/compare', '/v1/pipelines/bc/compare', undefined, 200],
      ['GET', '/v2', '/v2', undefined, 200],
      ['GET', '/v2/models/{name}', '/v2/models/bc', undefined, 200],
      ['GET', '/v2/models/{name}/ready', '/v2/models/bc/ready', undefined, 200],
      ['GET', '/v2/models/{name}/ready', '/v2/models/bc2/ready', undefined, 503],
      ['GET', '/v2/health/ready', '/v2/health/ready', undefined, 200],
      ['POST', '/v1/assays', '/v1/assays', {
        name: 'drift', pipeline: 'bc', target: { column: 'out.probabilities', index: 1 },
        baseline: { values: Array.from({ length: 20 }, (_, i) => i / 20) }, window: { width: '1h' },
      }, 201],
      ['GET', '/v1/assays', '/v1/assays', undefined, 200],
      ['GET', '/v1/assays/{name}', '/v1/assays/drift', undefined, 200],
      ['POST', '/v1/assays/{name}/pause', '/v1/assays/drift/pause', undefined, 200],
      ['GET', '/v1/assays/{name}/results', '/v1/assays/drift/results', undefined, 200],
      ['GET', '/v1/assays/{name}/alerts', '/v1/assays/drift/alerts', undefined, 200],
      ['DELETE', '/v1/assays/{name}', '/v1/assays/drift', undefined, 200],
      ['GET', '/v1/whoami', '/v1/whoami', undefined, 200],
      ['POST', '/v1/workspaces', '/v1/workspaces', { name: 'team' }, 201],
      ['GET', '/v1/workspaces', '/v1/workspaces', undefined, 200],
      ['GET', '/v1/workspaces/{name}', '/v1/workspaces/team', undefined, 200],
      ['POST', '/v1/workspaces/{name}/archive', '/v1/workspaces/team/archive', undefined, 200],
      ['POST', '/v1/users', '/v1/users', { name: 'ann' }, 201],
      ['GET', '/v1/users', '/v1/users', undefined, 200],
      ['POST', '/v1/members', '/v1/members', { user: 'ann', role: 'viewer' }, 200],
      ['GET', '/v1/members', '/v1/members', undefined, 200],
      ['DELETE', '/v1/members/{user}', '/v1/members/ann', undefined, 200],
      ['POST', '/v1/tokens', '/v1/tokens', { name: 'ci', expires_in: '1d' }, 201],
      ['GET', '/v1/tokens', '/v1/tokens', undefined, 200],
      ['DELETE', '/v1/tokens/{name}', '/v1/tokens/ci', undefined, 200],
      ['GET', '/v1/audit', '/v1/audit?limit=5', undefined, 200],
      ['GET', '/v1/audit/platform', '/v1/audit/platform', undefined, 200],
    ];
    for (const [method, template, path, body, status] of checks) await conforms(method, template, path, body, status);
  });

  it('answers 405 with Allow when a known path is called with a method it lacks, 404 for unknown paths', async () => {
    let r = await call(s, 'PUT', '/v1/models', { name: 'x' });
    assert.equal(r.status, 405);
    assert.equal(r.json.code, 'METHOD_NOT_ALLOWED');
    assert.equal(r.headers.get('allow'), 'GET, HEAD');
    // GET /v1/assays/:name would take this path too; its own resource allows POST only.
    r = await call(s, 'OPTIONS', '/v1/assays/preview');
    assert.equal(r.status, 405);
    assert.equal(r.headers.get('allow'), 'POST');
    r = await call(s, 'DELETE', '/v1/pipelines/bc/versions/1?x=1');
    assert.equal(r.headers.get('allow'), 'GET, HEAD');
    // A method whose body Fastify refuses before routing (QUERY without a Content-Type) still learns about the path.
    r = await call(s, 'QUERY', '/v2');
    assert.equal(r.status, 405);
    r = await call(s, 'GET', '/v1/nothing-here');
    assert.equal(r.status, 404);
    assert.equal(r.json.code, 'ROUTE_NOT_FOUND');
  });
});
