/**
 * Validations: named rules over a pipeline's inputs and outputs, in a small expression
 * language that is parsed (jsep) and type-checked here, never handed to `eval`.
 *
 *   out.probabilities[1] <= 0.95 and abs(out.variable[0]) < 400
 *
 * Columns: `in.<input>`, `out.<output>` (or `out["odd name"]`), an element by `[index]` for
 * tensor columns. Operators: + - * / % < <= > >= == != and or not (&& || ! too); functions
 * abs, min, max. A rule states what a good row looks like: rows where it is false are flagged
 * (they still get their answer).
 */
import jsep from 'jsep';
import type { Batch, Tensor } from '../codecs/tensor.ts';
import { elementCount } from '../codecs/tensor.ts';
import { float16BitsToNumber } from '../codecs/float16.ts';
import { fail } from '../errors/index.ts';
import type { Signature, TensorSpec } from '../runtimes/index.ts';

jsep.addBinaryOp('and', 2);
jsep.addBinaryOp('or', 1);
jsep.addUnaryOp('not');

type Type = 'number' | 'boolean' | 'string';

interface Column {
  side: 'in' | 'out';
  name: string;
  /** element offset within the row, or -1 for a scalar column */
  index: number;
}

/** Reads a column value of one row from the bound tensors. */
type Reader = (row: number) => unknown;
type Node = (read: Reader[], row: number) => unknown;

interface Compiled {
  type: Type;
  node: Node;
}

export interface Rule {
  name: string;
  expression: string;
  columns: Column[];
  node: Node;
}

const FUNCTIONS: Record<string, { arity: [number, number]; fn: (...a: number[]) => number }> = {
  abs: { arity: [1, 1], fn: Math.abs },
  min: { arity: [2, 8], fn: Math.min },
  max: { arity: [2, 8], fn: Math.max },
};

const typeOf = (s: TensorSpec): Type => (s.datatype === 'BYTES' ? 'string' : s.datatype === 'BOOL' ? 'boolean' : 'number');

function compile(rule: string, expression: string, signature: Signature): Rule {
  const bad = (why: string): never => fail('INVALID_VALIDATION', `validation '${rule}': ${why}`);
  let ast: jsep.Expression;
  try {
    ast = jsep(expression);
  } catch (e) {
    return bad(`cannot parse '${expression}': ${(e as Error).message}`);
  }
  const columns: Column[] = [];

  const column = (side: string, name: string, index: number | undefined): Compiled => {
    if (side !== 'in' && side !== 'out') return bad(`'${side}.${name}' is not a column; use in.<input> or out.<output>`);
    const specs = side === 'in' ? signature.inputs : signature.outputs;
    const spec = specs.find((s) => s.name === name)
      ?? bad(`unknown column '${side}.${name}'; ${side === 'in' ? 'inputs' : 'outputs'} are ${specs.map((s) => s.name).join(', ')}`);
    const rowShape = spec.shape.slice(1);
    if (index === undefined && rowShape.length > 0) bad(`'${side}.${name}' holds ${JSON.stringify(rowShape)} values per row: pick one with [index]`);
    if (index !== undefined) {
      if (rowShape.length === 0) bad(`'${side}.${name}' holds one value per row: it takes no [index]`);
      const size = rowShape.every((d) => d >= 0) ? elementCount(rowShape) : Infinity;
      if (index >= size) bad(`index ${index} is out of range for '${side}.${name}' (${size} values per row)`);
    }
    const slot = columns.push({ side: side as 'in' | 'out', name, index: index ?? -1 }) - 1;
    return { type: typeOf(spec), node: (read, row) => read[slot](row) };
  };

  const walk = (n: jsep.Expression): Compiled => {
    switch (n.type) {
      case 'Literal': {
        const v = (n as jsep.Literal).value;
        const type: Type = typeof v === 'number' ? 'number' : typeof v === 'boolean' ? 'boolean' : typeof v === 'string' ? 'string' : bad(`unsupported literal ${String(v)}`);
        return { type, node: () => v };
      }
      case 'MemberExpression': {
        const m = n as jsep.MemberExpression;
        if (m.object.type === 'Identifier') {
          const side = (m.object as jsep.Identifier).name;
          const prop = m.computed ? (m.property as jsep.Literal).value : (m.property as jsep.Identifier).name;
          if (typeof prop !== 'string') return bad(`write ${side}.<name> or ${side}["name"]`);
          return column(side, prop, undefined);
        }
        if (m.object.type === 'MemberExpression' && m.computed && m.property.type === 'Literal') {
          const idx = (m.property as jsep.Literal).value;
          if (typeof idx !== 'number' || !Number.isInteger(idx) || idx < 0) return bad(`index ${String(idx)} must be a non-negative integer`);
          const inner = m.object as jsep.MemberExpression;
          if (inner.object.type !== 'Identifier') return bad('only one level of [index] is supported');
          const side = (inner.object as jsep.Identifier).name;
          const prop = inner.computed ? (inner.property as jsep.Literal).value : (inner.property as jsep.Identifier).name;
          if (typeof prop !== 'string') return bad(`write ${side}.<name>[index]`);
          return column(side, prop, idx);
        }
        return bad('write a column as in.<name> or out.<name>, optionally with [index]');
      }
      case 'Identifier':
        return bad(`'${(n as jsep.Identifier).name}' is not a column; use in.<input> or out.<output>`);
      case 'CallExpression': {
        const c = n as jsep.CallExpression;
        const name = c.callee.type === 'Identifier' ? (c.callee as jsep.Identifier).name : '';
        const f = FUNCTIONS[name] ?? bad(`unknown function '${name || '?'}'; functions: ${Object.keys(FUNCTIONS).join(', ')}`);
        const args = c.arguments.map(walk);
        if (args.length < f.arity[0] || args.length > f.arity[1]) bad(`${name} takes ${f.arity.join(' to ')} arguments`);
        if (args.some((a) => a.type !== 'number')) bad(`${name} takes numbers`);
        return { type: 'number', node: (r, row) => f.fn(...args.map((a) => a.node(r, row) as number)) };
      }
      case 'UnaryExpression': {
        const u = n as jsep.UnaryExpression;
        const arg = walk(u.argument);
        if (u.operator === '!' || u.operator === 'not') {
          if (arg.type !== 'boolean') bad(`'${u.operator}' needs a condition, got a ${arg.type}`);
          return { type: 'boolean', node: (r, row) => !arg.node(r, row) };
        }
        if (u.operator === '-' || u.operator === '+') {
          if (arg.type !== 'number') bad(`'${u.operator}' needs a number`);
          return { type: 'number', node: u.operator === '-' ? (r, row) => -(arg.node(r, row) as number) : arg.node };
        }
        return bad(`unsupported operator '${u.operator}'`);
      }
      case 'BinaryExpression': {
        const b = n as jsep.BinaryExpression;
        const l = walk(b.left);
        const r = walk(b.right);
        const op = b.operator;
        if (['and', 'or', '&&', '||'].includes(op)) {
          if (l.type !== 'boolean' || r.type !== 'boolean') bad(`'${op}' joins conditions, got ${l.type} and ${r.type}`);
          return op === 'and' || op === '&&'
            ? { type: 'boolean', node: (x, row) => Boolean(l.node(x, row)) && Boolean(r.node(x, row)) }
            : { type: 'boolean', node: (x, row) => Boolean(l.node(x, row)) || Boolean(r.node(x, row)) };
        }
        if (['==', '!=', '===', '!=='].includes(op)) {
          if (l.type !== r.type) bad(`'${op}' compares a ${l.type} with a ${r.type}`);
          return op.startsWith('=')
            ? { type: 'boolean', node: (x, row) => l.node(x, row) === r.node(x, row) }
            : { type: 'boolean', node: (x, row) => l.node(x, row) !== r.node(x, row) };
        }
        const cmp: Record<string, (a: number, b: number) => boolean> = { '<': (a, c) => a < c, '<=': (a, c) => a <= c, '>': (a, c) => a > c, '>=': (a, c) => a >= c };
        const arith: Record<string, (a: number, b: number) => number> = { '+': (a, c) => a + c, '-': (a, c) => a - c, '*': (a, c) => a * c, '/': (a, c) => a / c, '%': (a, c) => a % c };
        const f = cmp[op] ?? arith[op] ?? bad(`unsupported operator '${op}'`);
        if (l.type !== 'number' || r.type !== 'number') bad(`'${op}' needs numbers, got ${l.type} and ${r.type}`);
        return { type: cmp[op] ? 'boolean' : 'number', node: (x, row) => (f as (a: number, b: number) => unknown)(l.node(x, row) as number, r.node(x, row) as number) };
      }
      default:
        return bad(`unsupported expression (${n.type}); write one condition`);
    }
  };
  const top = walk(ast);
  if (top.type !== 'boolean') bad(`the rule must be a condition (true or false), got a ${top.type}`);
  return { name: rule, expression, columns, node: top.node };
}

const RULE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** Parses and type-checks every rule against a pipeline signature; throws 422 naming the rule. */
export function compileRules(rules: Record<string, string>, signature: Signature): Rule[] {
  return Object.entries(rules).map(([name, expression]) => {
    if (!RULE_NAME.test(name)) fail('INVALID_VALIDATION', `validation name '${name}' must be letters, digits and '_' (starting with a letter or '_')`);
    if (typeof expression !== 'string' || expression.trim() === '') fail('INVALID_VALIDATION', `validation '${name}' needs an expression`);
    return compile(name, expression, signature);
  });
}

function reader(t: Tensor, index: number): Reader {
  const rowSize = elementCount(t.shape.slice(1));
  const at = index < 0 ? 0 : index;
  const d = t.data;
  if (Array.isArray(d)) return (row) => d[row * rowSize + at];
  if (t.datatype === 'BOOL') return (row) => d[row * rowSize + at] !== 0;
  if (t.datatype === 'FP16') return (row) => float16BitsToNumber(d[row * rowSize + at] as number);
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) return (row) => Number(d[row * rowSize + at]);
  return (row) => (row * rowSize + at < d.length ? d[row * rowSize + at] : NaN);
}

/** For each row, the names of the rules it broke. */
export function evaluate(rules: Rule[], inputs: Batch, outputs: Batch, rows: number): string[][] {
  const failed: string[][] = Array.from({ length: rows }, () => []);
  for (const rule of rules) {
    const read = rule.columns.map((c) => {
      const t = (c.side === 'in' ? inputs : outputs).find((x) => x.name === c.name);
      return t ? reader(t, c.index) : () => NaN;
    });
    for (let row = 0; row < rows; row++) if (rule.node(read, row) !== true) failed[row].push(rule.name);
  }
  return failed;
}
