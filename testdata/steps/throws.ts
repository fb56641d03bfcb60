// A step that throws: the request fails with STEP_FAILED naming the step; the server keeps serving.
export const signature = {
  inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 30] }],
  outputs: [
    { name: 'label', datatype: 'INT64', shape: [-1] },
    { name: 'probabilities', datatype: 'FP32', shape: [-1, 2] },
  ],
};

export function predict() {
  throw new Error('feature store unavailable');
}
