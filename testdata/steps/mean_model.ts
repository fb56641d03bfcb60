// A custom model (bring your own predictor) with the breast_cancer signature: load() runs once.
export const signature = {
  inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 30] }],
  outputs: [
    { name: 'label', datatype: 'INT64', shape: [-1] },
    { name: 'probabilities', datatype: 'FP32', shape: [-1, 2] },
  ],
};

export async function load() {
  return { threshold: 20 };
}

export function predict({ input }: { input: number[][] }, state: { threshold: number }) {
  const means = input.map((row) => row.reduce((a, b) => a + b, 0) / row.length);
  return {
    label: means.map((m) => (m > state.threshold ? 0 : 1)),
    probabilities: means.map((m) => (m > state.threshold ? [0.9, 0.1] : [0.1, 0.9])),
  };
}
