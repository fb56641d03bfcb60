// A slow challenger (3 s per call) with the breast_cancer signature.
export const signature = {
  inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 30] }],
  outputs: [{ name: 'label', datatype: 'INT64', shape: [-1] }, { name: 'probabilities', datatype: 'FP32', shape: [-1, 2] }],
};

export async function predict({ input }: { input: number[][] }) {
  await new Promise((r) => setTimeout(r, 3000));
  return { label: input.map(() => 1), probabilities: input.map(() => [0.5, 0.5]) };
}
