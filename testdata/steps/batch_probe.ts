// Echoes x and reports how many rows the run it took part in had: a probe for dynamic batching.
// A negative x makes the whole run fail, to test that only the faulty request fails.
export const signature = {
  inputs: [{ name: 'x', datatype: 'FP32', shape: [-1] }],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [-1] }, { name: 'run_rows', datatype: 'INT32', shape: [-1] }],
};

export async function predict({ x }: { x: number[] }) {
  if (x.some((v) => v < 0)) throw new Error(`negative input ${x.find((v) => v < 0)}`);
  await new Promise((r) => setTimeout(r, 20));
  return { y: x, run_rows: x.map(() => x.length) };
}
