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
  async function conforms(method: string, template: string, path: string, body?: unknown, headers?: Record<string, string>) {
    const r = await call(s, method, path, body, headers);
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
    await conforms('POST', '/v2/models/{name}/infer', '/v2/models/bc/infer', oipRequest(e));
    await conforms('POST', '/v1/pipelines/{name}/infer', '/v1/pipelines/bc/infer', [{ input: new Array(30).fill(0.5) }]);
    const upload = await call(s, 'POST', '/v1/models/bc2', modelBytes('breast_cancer_logreg'), { 'content-type': 'application/octet-stream' });
    assert.equal(upload.status, 201);
    const checks: [string, string, string, unknown?][] = [
      ['POST', '/v1/models/{name}', '/v1/models/bc2'],
      ['GET', '/v1/models', '/v1/models'],
      ['GET', '/v1/models/{name}', '/v1/models/bc'],
      ['GET', '/v1/models/{name}/versions/{version}', '/v1/models/bc/versions/1'],
      ['GET', '/v1/models/{name}', '/v1/models/nope'],
      ['POST', '/v1/pipelines', '/v1/pipelines', { name: 'bc', steps: [{ model: 'bc' }] }],
      ['POST', '/v1/pipelines', '/v1/pipelines', { name: 'bc2', steps: [{ model: 'bc2' }], validations: { sure: 'out.probabilities[1] <= 0.99' } }],
      ['POST', '/v1/pipelines', '/v1/pipelines', { name: 'bad', steps: [{ model: 'nope' }] }],
      ['GET', '/v1/pipelines', '/v1/pipelines'],
      ['GET', '/v1/pipelines/{name}', '/v1/pipelines/bc'],
      ['GET', '/v1/pipelines/{name}', '/v1/pipelines/bc2'],
      ['GET', '/v1/pipelines/{name}/versions', '/v1/pipelines/bc/versions'],
      ['GET', '/v1/pipelines/{name}/versions/{version}', '/v1/pipelines/bc/versions/1'],
      ['POST', '/v1/pipelines/{name}/deploy', '/v1/pipelines/bc2/deploy', { replicas: 0 }],
      ['POST', '/v1/pipelines/{name}/infer', '/v1/pipelines/bc2/infer', [{ input: new Array(30).fill(0.5) }]],
      ['GET', '/v1/pipelines/{name}/deployment', '/v1/pipelines/bc2/deployment'],
      ['GET', '/v1/deployments', '/v1/deployments'],
      ['POST', '/v1/pipelines/{name}/undeploy', '/v1/pipelines/bc2/undeploy'],
      ['POST', '/v1/pipelines/{name}/infer', '/v1/pipelines/bc2/infer', [{ input: new Array(30).fill(0.5) }]],
      ['GET', '/v1/pipelines/{name}/logs', '/v1/pipelines/bc/logs'],
      ['GET', '/v1/pipelines/{name}/logs', '/v1/pipelines/bc/logs?start=yesterday'],
      ['GET', '/v1/pipelines/{name}/compare', '/v1/pipelines/bc/compare'],
      ['GET', '/v2', '/v2'],
      ['GET', '/v2/models/{name}', '/v2/models/bc'],
      ['GET', '/v2/models/{name}/ready', '/v2/models/bc/ready'],
      ['GET', '/v2/models/{name}/ready', '/v2/models/bc2/ready'],
      ['GET', '/v2/health/ready', '/v2/health/ready'],
      ['POST', '/v1/assays', '/v1/assays', {
        name: 'drift', pipeline: 'bc', target: { column: 'out.probabilities', index: 1 },
        baseline: { values: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9] }, window: { width: '1h' },
      }],
      ['GET', '/v1/assays', '/v1/assays'],
      ['GET', '/v1/assays/{name}', '/v1/assays/drift'],
      ['POST', '/v1/assays/{name}/pause', '/v1/assays/drift/pause'],
      ['GET', '/v1/assays/{name}/results', '/v1/assays/drift/results'],
      ['GET', '/v1/assays/{name}/alerts', '/v1/assays/drift/alerts'],
      ['DELETE', '/v1/assays/{name}', '/v1/assays/drift'],
      ['GET', '/v1/whoami', '/v1/whoami'],
      ['POST', '/v1/workspaces', '/v1/workspaces', { name: 'team' }],
      ['GET', '/v1/workspaces', '/v1/workspaces'],
      ['GET', '/v1/workspaces/{name}', '/v1/workspaces/team'],
      ['POST', '/v1/workspaces/{name}/archive', '/v1/workspaces/team/archive'],
      ['POST', '/v1/users', '/v1/users', { name: 'ann' }],
      ['GET', '/v1/users', '/v1/users'],
      ['POST', '/v1/members', '/v1/members', { user: 'ann', role: 'viewer' }],
      ['GET', '/v1/members', '/v1/members'],
      ['DELETE', '/v1/members/{user}', '/v1/members/ann'],
      ['POST', '/v1/tokens', '/v1/tokens', { name: 'ci', expires_in: '1d' }],
      ['GET', '/v1/tokens', '/v1/tokens'],
      ['DELETE', '/v1/tokens/{name}', '/v1/tokens/ci'],
      ['GET', '/v1/audit', '/v1/audit?limit=5'],
      ['GET', '/v1/audit/platform', '/v1/audit/platform'],
    ];
    for (const [method, template, path, body] of checks) await conforms(method, template, path, body);
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
