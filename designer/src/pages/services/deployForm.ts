// The deploy form's model: what the user typed, the request body built from it (only the fields
// that were filled: the server rejects unknown and is strict about types), client-side checks for
// the obvious, and the mapping of the server's field errors (JSON paths) to the form's inputs.
import type { FieldError } from "../../api/client";

export interface LabelRow {
  key: string;
  value: string;
}

export interface DeployForm {
  modelName: string;
  modelFile: string;
  acceleratorType: string;
  acceleratorCount: string;
  cpu: string;
  memory: string;
  contextLength: string;
  concurrentSequences: string;
  replicaCount: string;
  shimlet: string;
  pipeline: string;
  runtime: string;
  namespace: string;
  labels: LabelRow[];
  dryRun: boolean;
  verifyChecksums: boolean;
  quantization: string;
}

export type FormKey = Exclude<keyof DeployForm, never>;

export const emptyForm: DeployForm = {
  modelName: "",
  modelFile: "",
  acceleratorType: "",
  acceleratorCount: "0",
  cpu: "",
  memory: "",
  contextLength: "",
  concurrentSequences: "",
  replicaCount: "",
  shimlet: "",
  pipeline: "",
  runtime: "",
  namespace: "",
  labels: [],
  dryRun: false,
  verifyChecksums: false,
  quantization: "",
};

export const QUANTIZATION_TYPES = ["q8_0", "q4_0", "q4_k_m", "q5_k_m", "f16"];

/** True when the pipeline's definition declares an input named `quantization`. */
export function declaresQuantization(inputs: { name: string }[] | undefined | null): boolean {
  return !!inputs?.some((i) => i.name === "quantization");
}

/** The POST /modserv/deploy body: only what was filled. */
export function buildDeployBody(form: DeployForm, options: { quantization: boolean }): Record<string, unknown> {
  const body: Record<string, unknown> = { modelName: form.modelName.trim(), modelFile: form.modelFile.trim() };
  const rr: Record<string, unknown> = {};
  if (form.acceleratorType.trim()) rr.acceleratorType = form.acceleratorType.trim();
  rr.acceleratorCount = toNumber(form.acceleratorCount) ?? 0;
  if (form.cpu.trim()) rr.cpu = form.cpu.trim();
  if (form.memory.trim()) rr.memory = form.memory.trim();
  const contextLength = toNumber(form.contextLength);
  if (contextLength !== undefined) rr.contextLength = contextLength;
  const sequences = toNumber(form.concurrentSequences);
  if (sequences !== undefined) rr.concurrentSequences = sequences;
  body.resourceRequirements = rr;
  const replicas = toNumber(form.replicaCount);
  if (replicas !== undefined) body.replicaCount = replicas;
  for (const k of ["shimlet", "pipeline", "runtime", "namespace"] as const) {
    if (form[k].trim()) body[k] = form[k].trim();
  }
  const labels = form.labels.filter((l) => l.key.trim());
  if (labels.length) body.labels = Object.fromEntries(labels.map((l) => [l.key.trim(), l.value.trim()]));
  if (form.dryRun) body.dryRun = true;
  if (form.verifyChecksums) body.verifyChecksums = true;
  if (options.quantization && form.quantization.trim()) body.quantization = { type: form.quantization.trim() };
  return body;
}

function toNumber(s: string): number | undefined {
  if (!s.trim()) return undefined;
  const n = Number(s);
  // Sent as typed when it is not a number, so the server's message names the problem.
  return Number.isFinite(n) ? n : (s as unknown as number);
}

/** The obvious problems, before asking the server. */
export function validate(form: DeployForm, options: { quantization: boolean }): Partial<Record<FormKey, string>> {
  const errors: Partial<Record<FormKey, string>> = {};
  if (!form.modelName.trim()) errors.modelName = "Model name is required.";
  if (!form.modelFile.trim()) errors.modelFile = "Model file is required.";
  const count = Number(form.acceleratorCount || "0");
  if (!Number.isInteger(count) || count < 0) errors.acceleratorCount = "A whole number, 0 or more.";
  if (form.replicaCount.trim()) {
    const r = Number(form.replicaCount);
    if (!Number.isInteger(r) || r < 0) errors.replicaCount = "A whole number, 0 or more.";
  }
  for (const k of ["contextLength", "concurrentSequences"] as const) {
    if (form[k].trim()) {
      const n = Number(form[k]);
      if (!Number.isInteger(n) || n < 1) errors[k] = "A whole number, 1 or more (empty: the default).";
    }
  }
  if (form.labels.some((l) => !l.key.trim() && l.value.trim())) errors.labels = "Every label needs a key.";
  const keys = form.labels.map((l) => l.key.trim()).filter(Boolean);
  if (new Set(keys).size !== keys.length) errors.labels = "Label keys must be unique.";
  if (options.quantization && !form.quantization.trim()) errors.quantization = "This pipeline quantizes the model: choose a type.";
  return errors;
}

const FIELD_MAP: Record<string, FormKey> = {
  modelname: "modelName",
  modelfile: "modelFile",
  "resourcerequirements.acceleratortype": "acceleratorType",
  "resourcerequirements.acceleratorcount": "acceleratorCount",
  "resourcerequirements.cpu": "cpu",
  "resourcerequirements.memory": "memory",
  "resourcerequirements.contextlength": "contextLength",
  "resourcerequirements.concurrentsequences": "concurrentSequences",
  replicacount: "replicaCount",
  shimlet: "shimlet",
  pipeline: "pipeline",
  runtime: "runtime",
  namespace: "namespace",
  labels: "labels",
  dryrun: "dryRun",
  verifychecksums: "verifyChecksums",
  quantization: "quantization",
};

/** The form input a server field error belongs to, or null (shown at the top). */
export function formKeyFor(field: string): FormKey | null {
  let f = field.trim().replace(/^\$\.?/, "").toLowerCase();
  while (f) {
    if (FIELD_MAP[f]) return FIELD_MAP[f];
    // "labels.team", "quantization.type", "resourceRequirements.memory[0]" → walk up the path.
    const cut = Math.max(f.lastIndexOf("."), f.lastIndexOf("["));
    if (cut <= 0) break;
    f = f.slice(0, cut);
  }
  // A bare leaf that only exists under resourceRequirements ("memory").
  const leaf = FIELD_MAP[`resourcerequirements.${field.trim().toLowerCase()}`];
  return leaf ?? null;
}

/** Splits server errors into per-input messages (the first for each input) and the rest. */
export function mapFieldErrors(errors: FieldError[]): { byField: Partial<Record<FormKey, string>>; other: FieldError[] } {
  const byField: Partial<Record<FormKey, string>> = {};
  const other: FieldError[] = [];
  for (const e of errors) {
    const key = formKeyFor(e.field);
    if (key) {
      if (!byField[key]) byField[key] = e.message;
    } else other.push(e);
  }
  return { byField, other };
}
