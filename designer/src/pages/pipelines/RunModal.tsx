// "Run": starts an instance of a saved definition version with an input object typed as JSON, then
// opens the instance page.
import { useEffect, useState } from "react";
import { useNavigate } from "react-router";
import { api, ApiError, asApiError } from "../../api/client";
import type { WorkflowDefinition, WorkflowInstance } from "../../api/types";
import { ErrorBanner, Modal } from "../../ui/kit";

/** A starting input object: each declared input's default, or an empty value of its type. */
export function sampleInput(inputs: WorkflowDefinition["inputs"]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const i of inputs ?? []) {
    if (i.default !== undefined) out[i.name] = i.default;
    else if (!i.required) continue;
    else out[i.name] = i.type === "integer" || i.type === "number" ? 0 : i.type === "boolean" ? false : i.type === "object" ? {} : i.type === "array" ? [] : "";
  }
  return out;
}

export function RunModal({
  open,
  definitionId,
  version,
  inputs,
  onClose,
}: {
  open: boolean;
  definitionId: string;
  version: number | undefined;
  inputs: WorkflowDefinition["inputs"];
  onClose: () => void;
}) {
  const navigate = useNavigate();
  const [text, setText] = useState("{}");
  const [parseError, setParseError] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (open) {
      setText(JSON.stringify(sampleInput(inputs), null, 2));
      setError(null);
      setParseError(null);
    }
  }, [open, inputs]);

  const run = async () => {
    let input: unknown;
    try {
      input = JSON.parse(text);
    } catch (e) {
      setParseError(`Not valid JSON: ${(e as Error).message}`);
      return;
    }
    if (!input || typeof input !== "object" || Array.isArray(input)) {
      setParseError("The input must be a JSON object.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const instance = await api<WorkflowInstance>(`/api/v1/workflow-definitions/${encodeURIComponent(definitionId)}/execute`, {
        method: "POST",
        body: { input, version },
      });
      onClose();
      navigate(`/instances/${encodeURIComponent(instance.id)}`);
    } catch (e) {
      setError(asApiError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal
      title={`Run ${definitionId}${version ? ` v${version}` : ""}`}
      open={open}
      onClose={() => !busy && onClose()}
      footer={
        <>
          <button className="btn" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button className="btn btn-primary" onClick={() => void run()} disabled={busy}>
            {busy ? "Starting…" : "Start run"}
          </button>
        </>
      }
    >
      <label className="field">
        <span className="label">Input (JSON object)</span>
        <textarea
          aria-label="Run input"
          rows={12}
          value={text}
          spellCheck={false}
          aria-invalid={parseError ? "true" : undefined}
          onChange={(e) => {
            setText(e.target.value);
            setParseError(null);
          }}
        />
        {parseError && <span className="field-error">{parseError}</span>}
        <span className="help">Steps read it as {"{{ input.<name> }}"}. The run starts at once; its page shows the steps as they go.</span>
      </label>
      {(inputs ?? []).length > 0 && (
        <details>
          <summary className="muted">Declared inputs</summary>
          <ul className="run-inputs">
            {(inputs ?? []).map((i) => (
              <li key={i.name}>
                <code>{i.name}</code> <span className="muted">{i.type}{i.required ? ", required" : ""}</span>
                {i.description ? ` — ${i.description}` : ""}
              </li>
            ))}
          </ul>
        </details>
      )}
      <ErrorBanner error={error} />
      {error?.errors.length ? (
        <ul className="field-error">
          {error.errors.map((e, i) => (
            <li key={i}>
              <code>{e.field}</code> {e.message}
            </li>
          ))}
        </ul>
      ) : null}
    </Modal>
  );
}
