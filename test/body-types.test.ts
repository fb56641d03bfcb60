/**
 * JSON bodies are validated exactly, never coerced: for every route with a body (read from the
 * server's own OpenAPI document) each field gets 0, false, "" and a number where a string is due;
 * a value of the wrong type is a 400 naming the field, a value of the right type arrives as sent.
 * Query strings and path params are text on the wire and are still coerced ("2" → 2).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, deployPipeline, type TestServer, testServer } from './helpers.ts';

type Schema = {
  $ref?: string; type?: string; anyOf?: Schema[]; enum?: unknown[]; minimum?: number; minItems?: number;
  properties?: Record<string, Schema>; items?: Schema; required?: string[];
};

/** The schema with every `$ref` (to the document's components) replaced by what it names. */
function inline(s: unknown, components: Record<string, unknown>): any {
  if (Array.isArray(s)) return s.map((x) => inline(x, components));
  if (!s || typeof s !== 'object') return s;
  const ref = (s as Schema).$ref;
  if (ref) return inline(components[ref.split('/').at(-1)!], components);
  return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, inline(v, components)]));
}

/** A value the schema accepts, with every optional property filled in too. */
function sample(s: Schema): unknown {
  if (s.anyOf) return sample(s.anyOf.find((b) => b.type !== 'null')!);
  if (s.enum) return s.enum[0];
  switch (s.type) {
    case 'string': return 'x';
    case 'integer': case 'number': return Math.max(s.minimum ?? 1, 1);
    case 'boolean': return true;
    case 'array': return Array.from({ length: Math.max(s.minItems ?? 1, 1) }, () => sample(s.items ?? { type: 'string' }));
    case 'object': return Object.fromEntries(Object.entries(s.properties ?? {}).map(([k, v]) => [k, sample(v)]));
    default: return 'x';
  }
}

const typeOf = (v: unknown) => (typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'number') : typeof v);

/** Does the value pass the schema's type check (its enum, or one of its anyOf branches)? */
function admits(s: Schema, v: unknown): boolean {
  if (s.anyOf) return s.anyOf.some((b) => admits(b, v));
  if (s.enum) return s.enum.includes(v);
  if (!s.type) return true;
  const vt = v === null ? 'null' : typeOf(v);
  return s.type === vt || (vt === 'integer' && s.type === 'number');
}

/** Every leaf of a schema (scalars, arrays' items), as a path of keys / indices. */
function leaves(s: Schema, path: (string | number)[] = []): { path: (string | number)[]; schema: Schema }[] {
  const out = [{ path, schema: s }];
  if (s.type === 'object' && s.properties) {
    for (const [k, v] of Object.entries(s.properties)) out.push(...leaves(v, [...path, k]));
  }
  if (s.type === 'array' && s.items) out.push(...leaves(s.items, [...path, 0]));
  return out;
}

function setAt(body: unknown, path: (string | number)[], v: unknown): unknown {
  const copy = structuredClone(body) as Record<string | number, unknown>;
  let o = copy;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
  o[path.at(-1)!] = v;
  return copy;
}

/** The message names the field, as `body/a/b/0` or `a.b[0]`. */
function namesField(message: string, path: (string | number)[]): boolean {
  const slash = ['body', ...path].join('/');
  const dotted = path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');
  return message.includes(slash) || (path.length > 0 && message.includes(dotted)) || (path.length === 0 && /\bbody\b/.test(message));
}

describe('JSON bodies are never type-coerced', () => {
  let s: TestServer;
  let routes: { method: string; route: string; schema: Schema }[];

  before(async () => {
    s = await testServer();
    await deployPipeline(s, 'bc', ['breast_cancer_logreg']);
    assert.equal((await call(s, 'POST', '/v1/workspaces', { name: 'bc' })).status, 201); // PATCH /v1/workspaces/bc finds it
    const doc = (await call(s, 'GET', '/openapi.json')).json;
    routes = [];
    for (const [p, ops] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      for (const [method, op] of Object.entries(ops)) {
        const schema = op.requestBody?.content?.['application/json']?.schema;
        // The inference and feedback routes parse their own bodies (JSON, CSV or binary): tested on their own below.
        if (schema && !p.endsWith('/infer') && !p.endsWith('/feedback')) routes.push({ method: method.toUpperCase(), route: p.replace(/\{[^}]+\}/g, 'bc'), schema: inline(schema, doc.components?.schemas ?? {}) });
      }
    }
  });
  after(() => s.close());

  it('finds every route that takes a JSON body', () => {
    const found = routes.map((r) => `${r.method} ${r.route}`).sort();
    for (const want of [
      'POST /v1/workspaces', 'PATCH /v1/workspaces/bc', 'POST /v1/users', 'POST /v1/members', 'POST /v1/tokens', 'POST /v1/pipelines',
      'POST /v1/pipelines/bc/deploy', 'POST /v1/pipelines/bc/swap', 'POST /v1/assays/preview', 'POST /v1/assays',
    ]) assert.ok(found.includes(want), `${want} in ${found.join(', ')}`);
  });

  it('answers 0, false, "" and a number-for-a-string of the wrong type with a 400 naming the field', async () => {
    let checked = 0;
    for (const { method, route, schema } of routes) {
      const base = sample(schema);
      for (const leaf of leaves(schema)) {
        const edges: unknown[] = [0, false, '', 10561, '7'];
        for (const v of edges.filter((x) => !admits(leaf.schema, x))) {
          const body = leaf.path.length ? setAt(base, leaf.path, v) : v;
          const r = await call(s, method, route, body);
          const where = `${method} ${route} ${leaf.path.join('.') || '(body)'} = ${JSON.stringify(v)}`;
          assert.equal(r.status, 400, `${where}: got ${r.status} ${r.body}`);
          assert.equal(r.json.code, 'INVALID_REQUEST', where);
          assert.ok(namesField(r.json.error, leaf.path), `${where}: message '${r.json.error}' names the field`);
          checked++;
        }
      }
    }
    assert.ok(checked > 100, `${checked} wrong-typed values checked`);
  });

  it('refuses 0, false and "" as the whole body of the inference and feedback routes, which parse their own bodies', async () => {
    for (const route of ['/v1/pipelines/bc/infer', '/v2/models/bc/infer', '/v1/pipelines/bc/feedback']) {
      for (const v of [0, false, '']) {
        const r = await call(s, 'POST', route, JSON.stringify(v), { 'content-type': 'application/json' });
        assert.equal(r.status, 400, `${route} ${JSON.stringify(v)}: ${r.status} ${r.body}`);
      }
    }
  });

  it('a number is not a name: POST /v1/workspaces {"name": 10561} creates nothing', async () => {
    const r = await call(s, 'POST', '/v1/workspaces', { name: 10561 });
    assert.deepEqual(r.json, { error: 'body/name must be string', code: 'INVALID_REQUEST' });
    const list = (await call(s, 'GET', '/v1/workspaces')).json.workspaces as { name: string }[];
    assert.ok(!list.some((w) => w.name === '10561'));
  });

  it('values of the right type arrive as sent: false, 0 and "" stay themselves', async () => {
    const token = await call(s, 'POST', '/v1/tokens', { name: 'edge', inference_only: false });
    assert.equal(token.status, 201);
    assert.equal(token.json.token.inference_only, false);
    const deployed = await call(s, 'POST', '/v1/pipelines/bc/deploy', { replicas: 0 });
    assert.equal(deployed.status, 200, String(deployed.body));
    const named = await call(s, 'POST', '/v1/workspaces', { name: '' });
    assert.notEqual(named.json.code, 'INVALID_REQUEST', 'an empty name is a string: refused by the name rules, not the schema');
  });

  it('pipeline steps are type-checked too: a version "1" is named, not looked up', async () => {
    for (const [step, message] of [
      [{ model: 'breast_cancer_logreg', version: '1' }, /steps\/0\/version must be integer/],
      [{ model: 'breast_cancer_logreg', version: 0 }, /steps\/0\/version must be >= 1|'version' .* must be a positive integer, got 0/],
      [{ shadow: { champion: { model: 'breast_cancer_logreg' }, challengers: [{ model: 0 }] } }, /challengers\/0\/model must be string|'model' must be a model name, got 0/],
    ] as const) {
      const r = await call(s, 'POST', '/v1/pipelines', { name: 'typed', steps: [step] });
      assert.ok(r.status === 400 || r.status === 422, JSON.stringify(r.json));
      assert.ok(r.json.code === 'INVALID_REQUEST' || r.json.code === 'INVALID_PIPELINE', JSON.stringify(r.json));
      assert.match(r.json.error, message);
    }
  });

  it('query strings and path params are still coerced from text', async () => {
    assert.equal((await call(s, 'GET', '/v1/audit?limit=2')).status, 200);
    assert.equal((await call(s, 'GET', '/v1/pipelines/bc/versions/1')).json.version, 1);
    const bad = await call(s, 'GET', '/v1/audit?limit=two');
    assert.equal(bad.status, 400);
    assert.match(bad.json.error, /limit/);
  });
});
