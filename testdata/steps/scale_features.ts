// Pre-processing: feature engineering before a model (here: a constant rescale of 30 features).
export const signature = {
  inputs: [{ name: 'raw', datatype: 'FP32', shape: [-1, 30] }],
  outputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 30] }],
};

export function predict({ raw }: { raw: number[][] }) {
  return { input: raw.map((row) => row.map((x) => x / 2)) };
}
