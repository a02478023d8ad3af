// Turning a parameter's JSON Schema into a form field model, plus the local
// checks that give instant feedback (the server's validation stays the authority).
import type { JsonSchema, JsonValue } from "./types";

export type Branch =
  | { kind: "enum"; label: string; options: JsonValue[] }
  | { kind: "boolean"; label: string }
  | { kind: "integer" | "number"; label: string; schema: JsonSchema }
  | { kind: "string"; label: string; schema: JsonSchema }
  | { kind: "json"; label: string };

export interface FieldModel {
  nullable: boolean;
  branches: Branch[];
}

function branchesOf(schema: JsonSchema, out: Branch[], flags: { nullable: boolean }): void {
  if (schema.anyOf?.length) {
    for (const sub of schema.anyOf) branchesOf(sub, out, flags);
    return;
  }
  if (schema.enum) {
    const options = schema.enum.filter((v) => v !== null);
    if (options.length < schema.enum.length) flags.nullable = true;
    if (options.length) out.push({ kind: "enum", label: "choice", options });
    return;
  }
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (!types.length) {
    out.push({ kind: "json", label: "value" });
    return;
  }
  for (const t of types) {
    if (t === "null") flags.nullable = true;
    else if (t === "boolean") out.push({ kind: "boolean", label: "yes/no" });
    else if (t === "integer") out.push({ kind: "integer", label: "integer", schema });
    else if (t === "number") out.push({ kind: "number", label: "number", schema });
    else if (t === "string") out.push({ kind: "string", label: "text", schema });
    else out.push({ kind: "json", label: t });
  }
}

/** Lower and upper bound of a numeric schema, and whether each is exclusive. */
function bounds(s: JsonSchema): { lo: number; loOpen: boolean; hi: number; hiOpen: boolean } {
  const lo = s.exclusiveMinimum ?? s.minimum ?? -Infinity;
  const hi = s.exclusiveMaximum ?? s.maximum ?? Infinity;
  return { lo, loOpen: s.exclusiveMinimum !== undefined, hi, hiOpen: s.exclusiveMaximum !== undefined };
}

/** Whether every value the integer schema allows is allowed by the number schema. */
function covers(number: JsonSchema, integer: JsonSchema): boolean {
  const n = bounds(number);
  const i = bounds(integer);
  const loOk = n.lo < i.lo || (n.lo === i.lo && (!n.loOpen || i.loOpen));
  const hiOk = n.hi > i.hi || (n.hi === i.hi && (!n.hiOpen || i.hiOpen));
  return loOk && hiOk;
}

export function fieldModel(schema: JsonSchema): FieldModel {
  const flags = { nullable: false };
  const branches: Branch[] = [];
  branchesOf(schema, branches, flags);
  // An integer branch inside a number branch's range is redundant for a person; one
  // with a range of its own (sklearn's "int ≥ 2 or a fraction in (0, 1]") is a real
  // alternative and stays.
  const numbers = branches.filter((b) => b.kind === "number");
  const redundant = (b: Branch) =>
    b.kind === "integer" && numbers.some((n) => n.kind === "number" && covers(n.schema, b.schema));
  return { nullable: flags.nullable, branches: branches.filter((b) => !redundant(b)) };
}

/** Which branch a value belongs to (-1 for null or unknown): the first whose type and
 * bounds accept it, else the first whose type does (its check then says what is wrong). */
export function branchFor(model: FieldModel, value: JsonValue | undefined): number {
  if (value === null || value === undefined) return -1;
  const typed = model.branches.map((b) => typeMatches(b, value));
  const valid = model.branches.findIndex((b, i) => typed[i] && checkValue(b, value) === null);
  return valid >= 0 ? valid : typed.indexOf(true);
}

/** The local check of a field: its branch's, or for several numeric alternatives that
 * all refuse the value, one message naming them all. */
export function checkField(model: FieldModel, branch: Branch, value: JsonValue): string | null {
  const own = checkValue(branch, value);
  if (own === null) return null;
  const numeric = model.branches.filter((b) => b.kind === "integer" || b.kind === "number");
  if (numeric.length < 2 || !numeric.includes(branch) || typeof value !== "number") return own;
  if (numeric.some((b) => checkValue(b, value) === null)) return null;
  const describe = (b: Branch) => {
    const range = b.kind === "integer" || b.kind === "number" ? boundsText(b.schema) : "";
    const kind = b.kind === "integer" ? "a whole number" : "a number";
    return range ? `${kind} with ${range}` : kind;
  };
  return `must be ${numeric.map(describe).join(" or ")}`;
}

function typeMatches(b: Branch, value: JsonValue): boolean {
  switch (b.kind) {
    case "enum":
      return b.options.some((o) => o === value);
    case "boolean":
      return typeof value === "boolean";
    case "integer":
      return typeof value === "number" && Number.isInteger(value);
    case "number":
      return typeof value === "number";
    case "string":
      return typeof value === "string";
    case "json":
      return true;
  }
}

/** A sensible first value when a person switches to ``branch`` (or un-ticks "none"). */
export function initialValue(branch: Branch, preferred?: JsonValue): JsonValue {
  switch (branch.kind) {
    case "enum":
      return branch.options.includes(preferred as JsonValue) ? (preferred as JsonValue) : branch.options[0];
    case "boolean":
      return typeof preferred === "boolean" ? preferred : false;
    case "integer":
    case "number": {
      if (typeof preferred === "number" && !checkValue(branch, preferred)) return preferred;
      const s = branch.schema;
      let v = 0;
      if (s.minimum !== undefined) v = Math.max(v, s.minimum);
      if (s.exclusiveMinimum !== undefined && v <= s.exclusiveMinimum) {
        v = branch.kind === "integer" ? Math.floor(s.exclusiveMinimum) + 1 : s.exclusiveMinimum + (s.exclusiveMaximum !== undefined ? (s.exclusiveMaximum - s.exclusiveMinimum) / 2 : 1);
      }
      if (s.maximum !== undefined && v > s.maximum) v = s.maximum;
      return v;
    }
    case "string":
      return typeof preferred === "string" ? preferred : "";
    case "json":
      return preferred ?? null;
  }
}

/** The same wording as the server ("must be > 0"), or null when fine. */
export function checkValue(branch: Branch, value: JsonValue): string | null {
  if (branch.kind === "integer" || branch.kind === "number") {
    if (typeof value !== "number" || !Number.isFinite(value)) return "must be a number";
    if (branch.kind === "integer" && !Number.isInteger(value)) return "must be a whole number";
    const s = branch.schema;
    if (s.minimum !== undefined && value < s.minimum) return `must be ≥ ${s.minimum}`;
    if (s.maximum !== undefined && value > s.maximum) return `must be ≤ ${s.maximum}`;
    if (s.exclusiveMinimum !== undefined && value <= s.exclusiveMinimum) return `must be > ${s.exclusiveMinimum}`;
    if (s.exclusiveMaximum !== undefined && value >= s.exclusiveMaximum) return `must be < ${s.exclusiveMaximum}`;
  }
  if (branch.kind === "string" && typeof value === "string" && branch.schema.pattern) {
    try {
      if (!new RegExp(branch.schema.pattern).test(value)) return "has the wrong format";
    } catch {
      return null;
    }
  }
  return null;
}

/** "0 < x < 1", "x ≥ 0" … for the hint under a number field. */
export function boundsText(schema: JsonSchema): string {
  const lo =
    schema.exclusiveMinimum !== undefined ? `${schema.exclusiveMinimum} <` : schema.minimum !== undefined ? `${schema.minimum} ≤` : "";
  const hi =
    schema.exclusiveMaximum !== undefined ? `< ${schema.exclusiveMaximum}` : schema.maximum !== undefined && schema.maximum < 1e9 ? `≤ ${schema.maximum}` : "";
  if (!lo && !hi) return "";
  return [lo, "value", hi].filter(Boolean).join(" ");
}

/** Split server errors for a node into per-param messages and the rest. */
export function splitErrors(
  messages: string[],
  paramNames: string[],
): { byParam: Record<string, string[]>; other: string[] } {
  const byParam: Record<string, string[]> = {};
  const other: string[] = [];
  for (const m of messages) {
    const idx = m.indexOf(": ");
    const name = idx > 0 ? m.slice(0, idx) : "";
    if (name && paramNames.includes(name)) (byParam[name] ??= []).push(m.slice(idx + 2));
    else other.push(m);
  }
  return { byParam, other };
}

export function displayValue(v: JsonValue | undefined): string {
  if (v === undefined) return "";
  if (v === null) return "none";
  if (typeof v === "string") return v;
  return JSON.stringify(v);
}
