// Post-processing: breast_cancer probabilities -> a readable label and the malignancy score.
export const signature = {
  inputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 2] }],
  outputs: [
    { name: 'diagnosis', datatype: 'BYTES', shape: [-1] },
    { name: 'score', datatype: 'FP32', shape: [-1] },
  ],
};

export function predict({ probabilities }: { probabilities: number[][] }) {
  return {
    diagnosis: probabilities.map((p) => (p[1] >= 0.5 ? 'benign' : 'malignant')),
    score: probabilities.map((p) => p[0]),
  };
}
