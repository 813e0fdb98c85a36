// Field editors for the side panel. Each keeps a local draft of the text being typed and converts it
// to the stored JSON value (numbers, booleans, objects), or keeps it as a Liquid template string.
import { useEffect, useId, useState, type ReactNode } from "react";
import type { InputDescriptor } from "../../api/types";

export const DURATION_HINT = "A duration such as 500ms, 30s, 5m, 1h30m, PT1M or 00:01:00.";

export function isTemplate(text: string): boolean {
  return /\{\{|\{%/.test(text);
}

type Parsed = { value: unknown } | { error: string };

/** A typed reference as stored in a definition: the value at `from`, as it is; `default` when the path leads nowhere. */
export type InputRef = { from: string; default?: unknown };

/** Whether a stored input value is a typed reference ({"from": "$.input.x", "default": …}). */
export function isReference(value: unknown): value is InputRef {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return typeof (value as InputRef).from === "string" && keys.every((k) => k === "from" || k === "default");
}

/**
 * Text for a reference: "$.input.a.b", or "$.input.a.b ?? 0" with a default (JSON after "??").
 * Typing such text into any input stores a reference.
 */
export function parseReferenceText(text: string): Parsed {
  const t = text.trim();
  const split = t.indexOf("??");
  const path = (split < 0 ? t : t.slice(0, split)).trim();
  if (!/^\$\.(input|steps|instance)([.[]|$)/.test(path) || /\s/.test(path))
    return { error: "A reference is $.input.<name>, $.steps.<step id>.output.<name> or $.instance.id, optionally followed by ?? <default JSON>." };
  if (split < 0) return { value: { from: path } };
  const defaultText = t.slice(split + 2).trim();
  try {
    return { value: { from: path, default: JSON.parse(defaultText) } };
  } catch {
    return { error: `The default after ?? must be JSON (e.g. 0, null, "text"), not ${defaultText || "nothing"}.` };
  }
}

/** Converts typed text to a stored value for an input type ("" clears the value: the default applies). */
export function parseInputText(type: string, text: string): Parsed {
  if (text.trim() === "") return { value: undefined };
  if (text.trim().startsWith("$.")) return parseReferenceText(text);
  switch (type) {
    case "integer":
      if (/^-?\d+$/.test(text.trim())) return { value: Number(text.trim()) };
      if (isTemplate(text)) return { value: text };
      return { error: "Enter a whole number, or a template such as {{ input.replicas }}." };
    case "number": {
      const n = Number(text.trim());
      if (Number.isFinite(n)) return { value: n };
      if (isTemplate(text)) return { value: text };
      return { error: "Enter a number, or a template." };
    }
    case "object":
    case "array":
    case "json":
      try {
        const v = JSON.parse(text);
        if (type === "object" && (v === null || typeof v !== "object" || Array.isArray(v))) return { error: "Enter a JSON object ({ … }) or a template." };
        if (type === "array" && !Array.isArray(v)) return { error: "Enter a JSON array ([ … ]) or a template." };
        return { value: v };
      } catch (e) {
        if (isTemplate(text)) return { value: text };
        return { error: `Not valid JSON: ${(e as Error).message}` };
      }
    default:
      return { value: text };
  }
}

/** The text shown for a stored value. */
export function formatValue(value: unknown, pretty = true): string {
  if (value === undefined || value === null) return "";
  if (isReference(value)) return "default" in value ? `${value.from} ?? ${JSON.stringify(value.default)}` : value.from;
  if (typeof value === "string") return value;
  if (typeof value === "object") return JSON.stringify(value, null, pretty ? 2 : undefined);
  return String(value);
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** A text field or textarea that edits a value through `parse`, keeping invalid text as a draft. */
export function DraftText({
  id,
  label,
  value,
  parse,
  onChange,
  placeholder,
  multiline,
  rows,
  readOnly,
  invalid,
  onLocalError,
  inputMode,
  onCommit,
}: {
  id: string;
  label: string;
  value: unknown;
  parse: (text: string) => Parsed;
  onChange: (value: unknown) => void;
  placeholder?: string;
  multiline?: boolean;
  rows?: number;
  readOnly?: boolean;
  invalid?: boolean;
  onLocalError?: (error: string | null) => void;
  inputMode?: "numeric" | "decimal" | "text";
  /** Called on blur / Enter instead of on each keystroke (e.g. for renames). */
  onCommit?: boolean;
}) {
  const [draft, setDraft] = useState(() => formatValue(value));
  const [error, setError] = useState<string | null>(null);

  // Follow outside changes (undo, import, another field) unless the draft already means the value.
  useEffect(() => {
    setDraft((d) => {
      const p = parse(d);
      return "value" in p && same(p.value, value) ? d : formatValue(value);
    });
    setError(null);
    onLocalError?.(null);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [value]);

  const apply = (text: string) => {
    const p = parse(text);
    if ("error" in p) {
      setError(p.error);
      onLocalError?.(p.error);
      return;
    }
    setError(null);
    onLocalError?.(null);
    if (!same(p.value, value)) onChange(p.value);
  };

  const change = (text: string) => {
    setDraft(text);
    if (!onCommit) apply(text);
  };

  const common = {
    id,
    "aria-label": label,
    value: draft,
    placeholder,
    readOnly,
    "aria-invalid": invalid || !!error ? ("true" as const) : undefined,
    onBlur: onCommit ? () => apply(draft) : undefined,
  };
  return (
    <>
      {multiline ? (
        <textarea {...common} rows={rows ?? 4} onChange={(e) => change(e.target.value)} spellCheck={false} />
      ) : (
        <input
          {...common}
          type="text"
          inputMode={inputMode}
          spellCheck={false}
          onChange={(e) => change(e.target.value)}
          onKeyDown={onCommit ? (e) => e.key === "Enter" && apply(draft) : undefined}
        />
      )}
      {error && <div className="field-error">{error}</div>}
    </>
  );
}

export function FieldShell({
  htmlFor,
  label,
  required,
  help,
  errors,
  children,
  extra,
}: {
  htmlFor?: string;
  label: ReactNode;
  required?: boolean;
  help?: ReactNode;
  errors?: string[];
  children: ReactNode;
  extra?: ReactNode;
}) {
  return (
    <div className={`field dz-field${errors?.length ? " has-error" : ""}`}>
      <div className="dz-field-head">
        <label className="label" htmlFor={htmlFor}>
          {label}
          {required && (
            <span className="dz-required" title="Required">
              {" "}*
            </span>
          )}
        </label>
        {extra}
      </div>
      {children}
      {errors?.map((m, i) => (
        <div key={i} className="field-error" role="alert">
          {m}
        </div>
      ))}
      {help && <div className="help">{help}</div>}
    </div>
  );
}

/** The editor for one declared input of a step, chosen by the input's type. */
export function InputEditor({
  input,
  value,
  onChange,
  errors,
  readOnly,
}: {
  input: InputDescriptor;
  value: unknown;
  onChange: (value: unknown) => void;
  errors: string[];
  readOnly: boolean;
}) {
  const id = useId();
  const type = (input.type || "string").toLowerCase();
  const hint = (input.uiHint || "").toLowerCase();
  const defaultText = input.default === null || input.default === undefined ? "" : formatValue(input.default, false);
  const invalid = errors.length > 0;
  const clear =
    value !== undefined && !readOnly ? (
      <button type="button" className="dz-clear" onClick={() => onChange(undefined)} title="Remove the value (the default applies)" aria-label="Use the default">
        ×
      </button>
    ) : null;
  let control: ReactNode;
  let help: ReactNode = (
    <>
      {input.description}
      {isReference(value) && <span className="dz-ref-help"> Passed as it is from {value.from}{"default" in value ? "; the default applies when it is missing" : ""}.</span>}
    </>
  );

  const bound = isReference(value) || (typeof value === "string" && isTemplate(value));
  if (type === "boolean" && !bound) {
    control = (
      <label className="check">
        <input
          id={id}
          type="checkbox"
          aria-label={input.name}
          checked={value === true}
          disabled={readOnly}
          aria-invalid={invalid ? "true" : undefined}
          onChange={(e) => onChange(e.target.checked)}
        />
        <span className="muted">{value === undefined ? `not set${defaultText ? ` (default: ${defaultText})` : ""}` : String(value)}</span>
      </label>
    );
  } else if ((type === "enum" || (input.options && input.options.length)) && !bound) {
    const options = input.options ?? [];
    control = (
      <select
        id={id}
        aria-label={input.name}
        value={value === undefined ? "" : String(value)}
        disabled={readOnly}
        aria-invalid={invalid ? "true" : undefined}
        onChange={(e) => onChange(e.target.value === "" ? undefined : e.target.value)}
      >
        <option value="">{defaultText ? `(default: ${defaultText})` : "(not set)"}</option>
        {options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
        {value !== undefined && !options.includes(String(value)) && <option value={String(value)}>{String(value)}</option>}
      </select>
    );
  } else {
    const jsonLike = (type === "object" || type === "array" || type === "json") && !isReference(value);
    const multiline = jsonLike || hint === "multiline" || hint === "json";
    const parseType = type === "boolean" ? "string" : type;
    control = (
      <DraftText
        id={id}
        label={input.name}
        value={value}
        parse={(t) => parseInputText(parseType, t)}
        onChange={onChange}
        placeholder={defaultText || (type === "duration" ? "e.g. 30s" : jsonLike ? "{ }, {{ template }} or $.input.<name>" : undefined)}
        multiline={multiline}
        rows={jsonLike ? 4 : 3}
        readOnly={readOnly}
        invalid={invalid}
        inputMode={type === "integer" ? "numeric" : type === "number" ? "decimal" : undefined}
      />
    );
    if (type === "duration")
      help = (
        <>
          {input.description} {DURATION_HINT}
        </>
      );
  }

  return (
    <FieldShell
      htmlFor={id}
      label={
        <>
          {input.name} <span className="dz-type">{type === "enum" ? "enum" : type}</span>
        </>
      }
      required={input.required}
      help={help}
      errors={errors}
      extra={clear}
    >
      {control}
    </FieldShell>
  );
}
