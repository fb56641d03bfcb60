// A step that returns the wrong number of rows.
export const signature = {
  inputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 2] }],
  outputs: [{ name: 'diagnosis', datatype: 'BYTES', shape: [-1] }, { name: 'score', datatype: 'FP32', shape: [-1] }],
};

export function predict() {
  return { diagnosis: ['only one'], score: [1] };
}
