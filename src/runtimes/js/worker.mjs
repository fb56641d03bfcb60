// Runs one JavaScript step module in its own thread, so a step that throws, hangs or crashes
// never blocks or takes down the server. Plain JavaScript: workers do not load TypeScript.
import { parentPort, workerData } from 'node:worker_threads';

const message = (e) => (e && e.message) || String(e);
let predict;
let state;
try {
  const mod = await import(workerData.file);
  predict = mod.predict ?? mod.default;
  if (typeof predict !== 'function') throw new Error('the module exports no predict function: export function predict(columns) { ... }');
  if (typeof mod.load === 'function') state = await mod.load();
  parentPort.postMessage({ type: 'ready', signature: mod.signature });
} catch (e) {
  parentPort.postMessage({ type: 'failed', error: message(e) });
}

parentPort.on('message', async ({ id, columns }) => {
  try {
    const out = await predict(columns, state);
    parentPort.postMessage({ id, columns: out });
  } catch (e) {
    try {
      parentPort.postMessage({ id, error: message(e) });
    } catch {
      parentPort.postMessage({ id, error: 'returned a value that cannot be passed back (functions, class instances?)' });
    }
  }
});
