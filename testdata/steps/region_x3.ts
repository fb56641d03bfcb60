// A/B arm for key-split tests: y = x * 3, taking a per-row region column.
export const signature = {
  inputs: [{ name: 'region', datatype: 'BYTES', shape: [-1] }, { name: 'x', datatype: 'FP32', shape: [-1] }],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [-1] }],
};

export function predict({ x }: { x: number[] }) {
  return { y: x.map((v) => v * 3) };
}
