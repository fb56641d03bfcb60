/**
 * Python steps over HTTP: a single model.py, a .zip and a .tar.gz of a folder, pickled scikit-learn
 * estimators, XGBoost boosters and LightGBM models (answers equal their own predictions), mixed with ONNX
 * and JavaScript steps in one pipeline; broken uploads refused at upload with the reason; a step
 * that raises fails only its request, naming the step.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT, STEP_PYTHON, assertClose, call, eventually, expected, modelBytes, tempDir, type TestServer, testServer } from './helpers.ts';

const STEPS = path.join(ROOT, 'testdata', 'steps');
const py = (file: string) => fs.readFileSync(path.join(STEPS, 'python', file));
const cancer = expected('breast_cancer_logreg');
const cancerRows = (cancer.inputs.input.data as number[]).reduce<number[][]>((rows, x, i) => {
  if (i % 30 === 0) rows.push([]);
  rows.at(-1)!.push(x);
  return rows;
}, []);

/** The folder as an archive of the given kind (made by the tools a data scientist has). */
function pack(folder: string, kind: 'zip' | 'tar.gz'): Buffer {
  const out = path.join(tempDir(), `model.${kind}`);
  if (kind === 'zip') execFileSync(STEP_PYTHON, ['-m', 'zipfile', '-c', out, ...fs.readdirSync(folder)], { cwd: folder });
  else execFileSync('tar', ['-czf', out, '-C', path.dirname(folder), path.basename(folder)]);
  return fs.readFileSync(out);
}

describe('Python steps', { skip: !fs.existsSync(STEP_PYTHON) && `no ${STEP_PYTHON} (scripts/test makes it)` }, () => {
  let s: TestServer;
  const upload = (name: string, bytes: Uint8Array) => call(s, 'POST', `/v1/models/${name}?runtime=python`, bytes, { 'content-type': 'application/octet-stream' });

  before(async () => {
    s = await testServer({ customCode: { python: STEP_PYTHON } });
    await s.client.uploadModel('logreg', modelBytes('breast_cancer_logreg'));
  });
  after(() => s.close());

  it('serves a single-file model.py: DataFrame in, dict of numpy arrays out, load() state passed to predict', async () => {
    const v = await s.client.uploadModel('risk', py('risk.py'), { runtime: 'python' });
    assert.equal(v.runtime, 'python');
    assert.equal(v.platform, 'bettong_python');
    assert.deepEqual(v.signature.outputs.map((o) => [o.name, o.datatype, o.shape]), [['risk', 'FP32', [-1]], ['band', 'BYTES', [-1]], ['features', 'FP32', [-1, 2]]]);
    await s.client.createPipeline('risk', [{ model: 'risk' }]);
    await s.client.deploy('risk');
    const rows = await s.client.inferRecords('risk', [{ age: 70, income: 20_000 }, { age: 20, income: 90_000 }]);
    assert.ok(Math.abs((rows[0]['out.risk'] as number) - 0.6) < 1e-6);
    assert.equal(rows[1]['out.risk'], 0);
    assert.deepEqual(rows.map((r) => r['out.band']), ['high', 'low']);
    assert.deepEqual((rows[1]['out.features'] as number[]).map((x) => Math.round(x * 1e6) / 1e6), [0.2, 0.9]);
  });

  it('takes a .zip or .tar.gz of a folder holding model.py and the files it loads', async () => {
    const folder = path.join(STEPS, 'python', 'threshold');
    const zip = await upload('threshold', pack(folder, 'zip'));
    assert.equal(zip.status, 201, zip.body.toString());
    const tgz = await upload('threshold', pack(folder, 'tar.gz'));
    assert.equal(tgz.status, 201, tgz.body.toString());
    assert.deepEqual(tgz.json.signature, zip.json.signature);
    for (const version of [1, 2]) {
      await s.client.createPipeline(`threshold${version}`, [{ model: 'logreg' }, { model: 'threshold', version }]);
      await s.client.deploy(`threshold${version}`);
      const rows = await s.client.inferRecords(`threshold${version}`, cancerRows.map((input) => ({ input })));
      rows.forEach((row, i) => {
        const malignant = cancer.outputs.probabilities.data[i * 2] as number;
        assert.equal(row['out.diagnosis'], malignant >= 0.5 ? 'malignant' : 'benign');
        assert.ok(Math.abs((row['out.score'] as number) - malignant) < 1e-6);
      });
    }
  });

  it('gives predict one DataFrame column per input, tensors as array cells, or one column per element where the signature says flatten', async () => {
    await s.client.uploadModel('flattened', py('flattened.py'), { runtime: 'python' });
    await s.client.createPipeline('flattened', [{ model: 'flattened' }]);
    await s.client.deploy('flattened');
    const rows = await s.client.inferRecords('flattened', [
      { pixels: [1, 2, 3], position: [0.5, 0.25], window: [1, 2] },
      { pixels: [4, 5, 6], position: [0, 1], window: [3, 4] },
    ]);
    assert.equal(rows[0]['out.columns'], 'pixels_0,pixels_1,pixels_2,lat,lon,window');
    assertClose(rows.map((r) => r['out.score']), [321.25, 653], 1e-6);
    assert.deepEqual(rows.map((r) => r['out.doubled']), [[2, 4], [6, 8]]);

    const sig = (input: string) => `signature = {"inputs": [${input}], "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1]}]}\ndef predict(df):\n    return df\n`;
    for (const [input, why] of [
      ['{"name": "x", "datatype": "FP32", "shape": [-1], "flatten": True}', /input 'x' is flattened, so its shape needs every size after the rows/],
      ['{"name": "x", "datatype": "FP32", "shape": [-1, 3], "columns": ["a", "b"]}', /input 'x': 'columns' must list 3 column names/],
      ['{"name": "x", "datatype": "FP32", "shape": [-1, 2], "flatten": True}, {"name": "x_1", "datatype": "FP32", "shape": [-1]}', /column 'x_1' would appear twice/],
    ] as const) {
      const r = await upload('bad_flatten', Buffer.from(sig(input)));
      assert.equal(r.status, 422, input);
      assert.match(r.json.error, why);
    }
  });

  it('mixes Python, ONNX and JavaScript steps in one pipeline', async () => {
    await s.client.uploadModel('py_scale', py('scale_features.py'), { runtime: 'python' });
    await s.client.uploadModel('labeler', fs.readFileSync(path.join(STEPS, 'labeler.ts')), { runtime: 'js' });
    await s.client.createPipeline('mixed', [{ model: 'py_scale' }, { model: 'logreg' }, { model: 'labeler' }]);
    await s.client.deploy('mixed');
    const rows = await s.client.inferRecords('mixed', cancerRows.map((r) => ({ raw: r.map((x) => x * 2) })));
    rows.forEach((row, i) => {
      assert.equal(row['out.diagnosis'], 'malignant');
      assert.ok(Math.abs((row['out.score'] as number) - (cancer.outputs.probabilities.data[i * 2] as number)) < 1e-5);
    });
  });

  it('serves pickled scikit-learn estimators: answers equal their own predictions (1e-6)', async () => {
    // Trained and pickled by the steps' Python, with its own predictions to compare against.
    const dir = tempDir();
    execFileSync(STEP_PYTHON, ['-c', `
import json, joblib, numpy as np
from sklearn.datasets import load_iris, load_diabetes
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
X, y = load_iris(return_X_y=True, as_frame=True)
X.columns = [c.replace(" (cm)", "").replace(" ", "_") for c in X.columns]
clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y.map(lambda i: ["setosa", "versicolor", "virginica"][i]))
joblib.dump(clf, "classifier.joblib")
D, t = load_diabetes(return_X_y=True)
reg = RandomForestRegressor(n_estimators=10, random_state=0).fit(D, t)
joblib.dump(reg, "regressor.joblib")
json.dump({"rows": X.iloc[::10].to_dict("records"), "label": clf.predict(X.iloc[::10]).tolist(),
           "probabilities": clf.predict_proba(X.iloc[::10]).tolist(),
           "D": D[:7].tolist(), "prediction": reg.predict(D[:7]).tolist()}, open("expected.json", "w"))
`], { cwd: dir });
    const want = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8'));

    const clf = await s.client.uploadModel('iris', fs.readFileSync(path.join(dir, 'classifier.joblib')), { runtime: 'python' });
    assert.deepEqual(clf.signature.inputs.map((i) => i.name), ['sepal_length', 'sepal_width', 'petal_length', 'petal_width']);
    assert.deepEqual(clf.signature.outputs, [{ name: 'label', datatype: 'BYTES', shape: [-1] }, { name: 'probabilities', datatype: 'FP64', shape: [-1, 3] }]);
    await s.client.createPipeline('iris', [{ model: 'iris' }]);
    await s.client.deploy('iris');
    const rows = await s.client.inferRecords('iris', want.rows);
    assert.deepEqual(rows.map((r) => r['out.label']), want.label);
    rows.forEach((r, i) => assertClose(r['out.probabilities'] as number[], want.probabilities[i], 1e-6));

    const reg = await s.client.uploadModel('diabetes', fs.readFileSync(path.join(dir, 'regressor.joblib')), { runtime: 'python' });
    assert.deepEqual(reg.signature.inputs, [{ name: 'input', datatype: 'FP64', shape: [-1, 10] }]);
    await s.client.createPipeline('diabetes', [{ model: 'diabetes' }]);
    await s.client.deploy('diabetes');
    const out = await s.client.inferRecords('diabetes', want.D.map((input: number[]) => ({ input })));
    assertClose(out.map((r) => r['out.prediction']), want.prediction, 1e-6);

    execFileSync(STEP_PYTHON, ['-c', 'import joblib; joblib.dump({"not": "a model"}, "dict.joblib")'], { cwd: dir });
    const r = await upload('not_a_model', fs.readFileSync(path.join(dir, 'dict.joblib')));
    assert.equal(r.status, 422);
    assert.match(r.json.error, /holds a dict, which has no predict method/);
  });

  it('serves XGBoost boosters (JSON, UBJ) and LightGBM models: answers equal their own predictions (1e-6)', async () => {
    const dir = tempDir();
    execFileSync(STEP_PYTHON, ['-c', `
import json, numpy as np, xgboost as xgb, lightgbm as lgb
from sklearn.datasets import load_breast_cancer, load_iris
X, y = load_breast_cancer(return_X_y=True)
binary = xgb.train({"objective": "binary:logistic", "max_depth": 3}, xgb.DMatrix(X, label=y), num_boost_round=20)
binary.save_model("binary.json")
binary.save_model("binary.ubj")
I = load_iris(as_frame=True)
F = I.data.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
multi = xgb.train({"objective": "multi:softprob", "num_class": 3, "max_depth": 2}, xgb.DMatrix(F, label=I.target), num_boost_round=10)
multi.save_model("multi.json")
light = lgb.train({"objective": "multiclass", "num_class": 3, "verbose": -1, "min_data_in_leaf": 5}, lgb.Dataset(F, label=I.target), num_boost_round=10)
light.save_model("light.txt")
json.dump({"X": X[:6].tolist(), "binary": binary.predict(xgb.DMatrix(X[:6])).tolist(),
           "F": F.iloc[::15].to_dict("records"), "multi": multi.predict(xgb.DMatrix(F.iloc[::15])).tolist(),
           "light": light.predict(F.iloc[::15]).tolist()}, open("expected.json", "w"))
`], { cwd: dir });
    const want = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8'));
    const serve = async (name: string, file: string) => {
      const v = await s.client.uploadModel(name, fs.readFileSync(path.join(dir, file)), { runtime: 'python' });
      await s.client.createPipeline(name, [{ model: name }]);
      await s.client.deploy(name);
      return v;
    };
    for (const file of ['binary.json', 'binary.ubj']) {
      const name = file.replace('.', '_');
      const v = await serve(name, file);
      assert.deepEqual(v.signature, { inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 30] }], outputs: [{ name: 'prediction', datatype: 'FP32', shape: [-1] }] });
      const rows = await s.client.inferRecords(name, want.X.map((input: number[]) => ({ input })));
      assertClose(rows.map((r) => r['out.prediction']), want.binary, 1e-6, file);
    }
    const multi = await serve('xgb_multi', 'multi.json');
    assert.deepEqual(multi.signature.inputs.map((i) => i.name), ['sepal_length', 'sepal_width', 'petal_length', 'petal_width']);
    assert.deepEqual(multi.signature.outputs, [{ name: 'prediction', datatype: 'FP32', shape: [-1, 3] }]);
    let rows = await s.client.inferRecords('xgb_multi', want.F);
    rows.forEach((r, i) => assertClose(r['out.prediction'] as number[], want.multi[i], 1e-6, 'xgboost multi:softprob'));
    const light = await serve('lgbm', 'light.txt');
    assert.deepEqual(light.signature.outputs, [{ name: 'prediction', datatype: 'FP64', shape: [-1, 3] }]);
    rows = await s.client.inferRecords('lgbm', want.F);
    rows.forEach((r, i) => assertClose(r['out.prediction'] as number[], want.light[i], 1e-6, 'lightgbm'));
  });

  it('serves as a shadow challenger and an A/B arm', async () => {
    await s.client.uploadModel('py_mean', py('mean_model.py'), { runtime: 'python' });
    await s.client.createPipeline('py_shadow', [{ shadow: { champion: { model: 'logreg' }, challengers: [{ model: 'py_mean' }] } }]);
    await s.client.deploy('py_shadow');
    const r = await call(s, 'POST', '/v1/pipelines/py_shadow/infer', cancerRows.map((input) => ({ input })));
    assert.equal(r.status, 200, r.body.toString());
    const page = await eventually(async () => {
      const p = await s.client.logs('py_shadow');
      return p.records.length === 5 && p.records.every((x) => x['shadow.py_mean.probabilities']) && p;
    }, 'shadow rows logged', 10_000);
    assert.deepEqual(page.records.map((x) => x['shadow.py_mean.probabilities']), cancerRows.map(() => [0.9, 0.1].map(Math.fround)));

    await s.client.createPipeline('py_ab', [{ ab: { arms: [{ model: 'logreg' }, { model: 'py_mean' }], key: 'metadata.user' } }]);
    await s.client.deploy('py_ab');
    const arms = new Set<string>();
    for (let u = 0; u < 12; u++) {
      const rows = await s.client.inferRecords('py_ab', [{ input: cancerRows[0] }], { user: `user-${u}` });
      arms.add(JSON.stringify(rows[0]['out.probabilities']) === JSON.stringify([0.9, 0.1].map(Math.fround)) ? 'py_mean' : 'logreg');
    }
    assert.deepEqual([...arms].sort(), ['logreg', 'py_mean']);
  });

  it("builds a model's requirements.txt environment once, after the upload: building, then ready; failures keep their log", async () => {
    // A copy whose requirements.txt is new to this machine (a comment line): environments are cached across runs.
    const folder = path.join(tempDir(), 'tabulated');
    fs.cpSync(path.join(STEPS, 'python', 'tabulated'), folder, { recursive: true });
    fs.appendFileSync(path.join(folder, 'requirements.txt'), `# test run ${crypto.randomUUID()}\n`);
    const r = await upload('tabulated', pack(folder, 'tar.gz'));
    assert.equal(r.status, 202, r.body.toString());
    assert.equal(r.json.status, 'building');
    const refused = await call(s, 'POST', '/v1/pipelines', { name: 'too_soon', steps: [{ model: 'tabulated' }] });
    if (refused.status !== 201) {
      assert.equal(refused.status, 409);
      assert.equal(refused.json.code, 'MODEL_NOT_READY');
    }
    const build = await eventually(async () => {
      const b = await s.client.modelBuild('tabulated', 1);
      return b.status !== 'building' && b;
    }, 'the environment build', 300_000);
    assert.equal(build.status, 'ready', build.log);
    assert.match(build.log, /tabulate/);
    const v = await s.client.getModel('tabulated');
    assert.deepEqual(v.versions[0].signature.outputs, [{ name: 'text', datatype: 'BYTES', shape: [-1] }]);
    await s.client.createPipeline('tabulated', [{ model: 'tabulated' }]);
    await s.client.deploy('tabulated');
    const rows = await s.client.inferRecords('tabulated', [{ x: 1.5 }]);
    assert.equal(rows[0]['out.text'], '1.5');
    // The same requirements: the environment is shared, the upload ready at once.
    const again = await upload('tabulated_too', pack(folder, 'zip'));
    assert.equal(again.status, 201, again.body.toString());
    assert.equal(again.json.status, 'ready');

    const broken = path.join(tempDir(), 'broken_env');
    fs.mkdirSync(broken);
    fs.copyFileSync(path.join(folder, 'model.py'), path.join(broken, 'model.py'));
    fs.writeFileSync(path.join(broken, 'requirements.txt'), `bettong-no-such-package-0xdeadbeef\n# test run ${crypto.randomUUID()}\n`);
    assert.equal((await upload('broken_env', pack(broken, 'tar.gz'))).status, 202);
    const failed = await eventually(async () => {
      const b = await s.client.modelBuild('broken_env', 1);
      return b.status !== 'building' && b;
    }, 'the failing build', 300_000);
    assert.equal(failed.status, 'failed');
    assert.match(failed.log, /bettong-no-such-package-0xdeadbeef/);
    const p = await call(s, 'POST', '/v1/pipelines', { name: 'broken_env', steps: [{ model: 'broken_env' }] });
    assert.equal(p.status, 409);
    assert.equal(p.json.code, 'MODEL_NOT_READY');
    assert.match(p.json.error, /environment did not build/);
  });

  it('refuses what cannot be loaded at upload, with the reason', async () => {
    const sig = 'signature = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [-1]}], "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1]}]}\n';
    for (const [src, why] of [
      ['def predict(df):\n  return {\n', /SyntaxError/],
      [sig, /no predict function/],
      ['def predict(df):\n    return df\n', /signature is missing/],
      [sig.replace('"FP32", "shape": [-1]}], "out', '"FP99", "shape": [-1]}], "out') + 'def predict(df):\n    return df\n', /unknown datatype/],
      ['import not_installed_anywhere\n', /ModuleNotFoundError.*not_installed_anywhere/],
      [`${sig}def load():\n    raise RuntimeError("weights missing")\ndef predict(df):\n    return df\n`, /RuntimeError: weights missing/],
    ] as const) {
      const r = await upload('broken', Buffer.from(src));
      assert.equal(r.status, 422, src);
      assert.equal(r.json.code, 'INVALID_MODEL');
      assert.match(r.json.error, why);
    }
    const empty = path.join(tempDir(), 'empty');
    fs.mkdirSync(empty);
    fs.writeFileSync(path.join(empty, 'README'), 'no model here');
    const r = await upload('broken', pack(empty, 'tar.gz'));
    assert.equal(r.status, 422);
    assert.match(r.json.error, /no model\.py/);
    assert.equal((await call(s, 'GET', '/v1/models/broken')).status, 404);
  });

  it('fails only the request when predict raises or returns a malformed batch, naming the step', async () => {
    const sig = 'signature = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [-1]}], "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1]}]}\n';
    await s.client.uploadModel('raises', Buffer.from(`${sig}def predict(df):\n    raise ValueError("feature store unavailable")\n`), { runtime: 'python' });
    await s.client.uploadModel('short', Buffer.from(`${sig}def predict(df):\n    return {"y": [1.0]}\n`), { runtime: 'python' });
    for (const name of ['raises', 'short']) {
      await s.client.createPipeline(name, [{ model: name }]);
      await s.client.deploy(name);
    }
    let r = await call(s, 'POST', '/v1/pipelines/raises/infer', [{ x: 1 }]);
    assert.equal(r.status, 500);
    assert.equal(r.json.code, 'STEP_FAILED');
    assert.match(r.json.error, /step 1 \(raises:1\): threw: ValueError: feature store unavailable/);
    r = await call(s, 'POST', '/v1/pipelines/short/infer', [{ x: 1 }, { x: 2 }]);
    assert.equal(r.json.code, 'STEP_FAILED');
    assert.match(r.json.error, /step 1 \(short:1\).*malformed batch.*'y' has 1 rows, expected 2/);
    assert.equal((await call(s, 'POST', '/v1/pipelines/risk/infer', [{ age: 30, income: 1 }])).status, 200);
  });
});
