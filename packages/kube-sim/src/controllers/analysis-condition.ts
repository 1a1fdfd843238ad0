/**
 * Argo Rollouts' `successCondition`/`failureCondition`: expressions in expr-lang (github.com/expr-lang/expr) over the
 * measured `result`. Parsed with jsep (a small, well-kept JavaScript expression parser) taught expr's word operators
 * (`and`, `or`, `not`, `in`), and evaluated here with expr's semantics for what analysis templates use: comparisons,
 * arithmetic, `&&`/`||`/`!`, ternaries, member and index access (`result[0]`, `result.data.ok`), and the functions
 * `len`, `abs`, `min`, `max`, `isNaN`, `isInf`, `isNil`, `asInt`, `asFloat`, `default`. Closures (`all(result, {# > 1})`)
 * are not supported and say so. A condition must evaluate to a boolean, as upstream requires.
 */
import jsep from "jsep";

jsep.addBinaryOp("and", 2);
jsep.addBinaryOp("or", 1);
jsep.addBinaryOp("in", 7);
jsep.addUnaryOp("not");

export class ConditionError extends Error {
  override readonly name = "ConditionError";
}

type Node = jsep.Expression;

const parsed = new Map<string, Node>();

function parse(expression: string): Node {
  let node = parsed.get(expression);
  if (!node) {
    try {
      node = jsep(expression);
    } catch (error) {
      throw new ConditionError(`could not parse condition "${expression}": ${(error as Error).message}`);
    }
    if (parsed.size > 1000) parsed.clear();
    parsed.set(expression, node);
  }
  return node;
}

function typeName(value: unknown): string {
  if (value === null || value === undefined) return "<nil>";
  if (Array.isArray(value)) return "[]interface {}";
  if (typeof value === "number") return Number.isInteger(value) ? "int" : "float64";
  if (typeof value === "object") return "map[string]interface {}";
  return typeof value === "boolean" ? "bool" : "string";
}

function equal(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equal(x, b[i]));
  return a === b || (a == null && b == null);
}

function num(value: unknown, op: string): number {
  if (typeof value !== "number")
    throw new ConditionError(`invalid operation: ${op} (mismatched type ${typeName(value)})`);
  return value;
}

const FUNCTIONS: Record<string, (...args: unknown[]) => unknown> = {
  len: (v) => {
    if (typeof v === "string" || Array.isArray(v)) return v.length;
    if (v && typeof v === "object") return Object.keys(v).length;
    throw new ConditionError(`invalid argument for len (type ${typeName(v)})`);
  },
  abs: (v) => Math.abs(num(v, "abs")),
  min: (...v) => Math.min(...v.map((x) => num(x, "min"))),
  max: (...v) => Math.max(...v.map((x) => num(x, "max"))),
  isNaN: (v) => typeof v === "number" && Number.isNaN(v),
  isInf: (v) => v === Number.POSITIVE_INFINITY || v === Number.NEGATIVE_INFINITY,
  isNil: (v) => v === null || v === undefined,
  asInt: (v) => {
    const n = typeof v === "number" ? v : Number.parseInt(String(v), 10);
    if (Number.isNaN(n)) throw new ConditionError(`strconv.ParseInt: parsing "${String(v)}": invalid syntax`);
    return Math.trunc(n);
  },
  asFloat: (v) => {
    const n = typeof v === "number" ? v : Number.parseFloat(String(v));
    if (Number.isNaN(n) && String(v) !== "NaN")
      throw new ConditionError(`strconv.ParseFloat: parsing "${String(v)}": invalid syntax`);
    return n;
  },
  default: (v, fallback) => (v === null || v === undefined ? fallback : v),
};

function evaluate(node: Node, env: Record<string, unknown>): unknown {
  switch (node.type) {
    case "Literal":
      return (node as jsep.Literal).value;
    case "Identifier": {
      const name = (node as jsep.Identifier).name;
      if (name === "nil") return null;
      if (name in env) return env[name];
      throw new ConditionError(`unknown name ${name}`);
    }
    case "ArrayExpression":
      return (node as jsep.ArrayExpression).elements.map((e) => (e ? evaluate(e, env) : null));
    case "MemberExpression": {
      const m = node as jsep.MemberExpression;
      const object = evaluate(m.object, env);
      const key = m.computed ? evaluate(m.property, env) : (m.property as jsep.Identifier).name;
      if (Array.isArray(object)) {
        const i = num(key, "index");
        const index = i < 0 ? object.length + i : i;
        if (index < 0 || index >= object.length)
          throw new ConditionError(`index out of range: ${i} (array length is ${object.length})`);
        return object[index];
      }
      if (object && typeof object === "object") return (object as Record<string, unknown>)[String(key)];
      throw new ConditionError(`cannot fetch ${String(key)} from ${typeName(object)}`);
    }
    case "CallExpression": {
      const c = node as jsep.CallExpression;
      const name = c.callee.type === "Identifier" ? (c.callee as jsep.Identifier).name : "";
      const fn = FUNCTIONS[name];
      if (!fn) throw new ConditionError(`unknown func ${name || "expression"}`);
      return fn(...c.arguments.map((a) => evaluate(a, env)));
    }
    case "UnaryExpression": {
      const u = node as jsep.UnaryExpression;
      const value = evaluate(u.argument, env);
      if (u.operator === "!" || u.operator === "not") {
        if (typeof value !== "boolean")
          throw new ConditionError(`invalid operation: ! (mismatched type ${typeName(value)})`);
        return !value;
      }
      if (u.operator === "-") return -num(value, "-");
      if (u.operator === "+") return num(value, "+");
      throw new ConditionError(`unsupported operator ${u.operator}`);
    }
    case "ConditionalExpression": {
      const c = node as jsep.ConditionalExpression;
      return evaluate(c.test, env) === true ? evaluate(c.consequent, env) : evaluate(c.alternate, env);
    }
    case "BinaryExpression": {
      const b = node as jsep.BinaryExpression;
      const op = b.operator;
      if (op === "&&" || op === "and" || op === "||" || op === "or") {
        const left = evaluate(b.left, env);
        if (typeof left !== "boolean")
          throw new ConditionError(`invalid operation: ${op} (mismatched type ${typeName(left)})`);
        if ((op === "&&" || op === "and") && !left) return false;
        if ((op === "||" || op === "or") && left) return true;
        const right = evaluate(b.right, env);
        if (typeof right !== "boolean")
          throw new ConditionError(`invalid operation: ${op} (mismatched type ${typeName(right)})`);
        return right;
      }
      const left = evaluate(b.left, env);
      const right = evaluate(b.right, env);
      switch (op) {
        case "==":
          return equal(left, right);
        case "!=":
          return !equal(left, right);
        case "in":
          if (Array.isArray(right)) return right.some((x) => equal(x, left));
          if (right && typeof right === "object") return String(left) in right;
          throw new ConditionError(`invalid operation: in (mismatched type ${typeName(right)})`);
        case "<":
        case "<=":
        case ">":
        case ">=": {
          if (typeof left === "string" && typeof right === "string")
            return op === "<" ? left < right : op === "<=" ? left <= right : op === ">" ? left > right : left >= right;
          const l = num(left, op);
          const r = num(right, op);
          return op === "<" ? l < r : op === "<=" ? l <= r : op === ">" ? l > r : l >= r;
        }
        case "+":
          if (typeof left === "string" && typeof right === "string") return left + right;
          return num(left, op) + num(right, op);
        case "-":
          return num(left, op) - num(right, op);
        case "*":
          return num(left, op) * num(right, op);
        case "/":
          return num(left, op) / num(right, op);
        case "%":
          return num(left, op) % num(right, op);
        default:
          throw new ConditionError(`unsupported operator ${op}`);
      }
    }
    default:
      throw new ConditionError(`unsupported expression (${node.type}); closures and pipes are not supported`);
  }
}

/** EvalCondition: evaluates `condition` with `result` bound; a non-boolean outcome is an error, as upstream. */
export function evalCondition(result: unknown, condition: string): boolean {
  const out = evaluate(parse(condition), { result });
  if (typeof out !== "boolean") throw new ConditionError(`expected bool, but got ${typeName(out)}`);
  return out;
}

export type MeasurementPhase = "Successful" | "Failed" | "Inconclusive" | "Error";

/** EvaluateResult (utils/evaluate): a measurement's phase from the metric's success and failure conditions. */
export function evaluateResult(
  result: unknown,
  metric: { successCondition?: string; failureCondition?: string },
): { phase: MeasurementPhase; error?: string } {
  let success = false;
  let failure = false;
  try {
    if (metric.successCondition) success = evalCondition(result, metric.successCondition);
    if (metric.failureCondition) failure = evalCondition(result, metric.failureCondition);
  } catch (error) {
    return { phase: "Error", error: (error as Error).message };
  }
  if (!metric.successCondition && !metric.failureCondition) return { phase: "Successful" };
  if (metric.successCondition && !metric.failureCondition) failure = !success;
  if (!metric.successCondition && metric.failureCondition) success = !failure;
  if (failure) return { phase: "Failed" };
  if (!success) return { phase: "Inconclusive" };
  return { phase: "Successful" };
}
