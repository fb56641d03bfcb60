// A step that never returns (a busy loop): cut off by the deployment's step timeout.
export const signature = {
  inputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 2] }],
  outputs: [{ name: 'diagnosis', datatype: 'BYTES', shape: [-1] }, { name: 'score', datatype: 'FP32', shape: [-1] }],
};

export function predict({ probabilities }: { probabilities: number[][] }) {
  if (probabilities[0][0] > 0.5) for (;;) { /* hang */ }
  return { diagnosis: probabilities.map(() => 'ok'), score: probabilities.map((p) => p[0]) };
}
