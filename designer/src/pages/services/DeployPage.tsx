// /services/new: the deploy form. Only obvious problems are checked here; the server's field errors
// are shown at their inputs, its message at the top.
import { useEffect, useId, useMemo, useState, type ReactNode } from "react";
import { Link, useNavigate } from "react-router";
import { api, ApiError, type FieldError, asApiError } from "../../api/client";
import type { DefinitionSummary, DeployAccepted, PluginsView, WorkflowDefinition } from "../../api/types";
import { useAuth } from "../../auth";
import { Empty, PageHeader } from "../../ui/kit";
import {
  buildDeployBody,
  declaresQuantization,
  emptyForm,
  mapFieldErrors,
  QUANTIZATION_TYPES,
  validate,
  type DeployForm,
  type FormKey,
} from "./deployForm";
import "./services.css";

type Errors = Partial<Record<FormKey, string>>;

export default function DeployPage() {
  const { can } = useAuth();
  const navigate = useNavigate();
  const [form, setForm] = useState<DeployForm>(emptyForm);
  const [errors, setErrors] = useState<Errors>({});
  const [topError, setTopError] = useState<ApiError | null>(null);
  const [otherErrors, setOtherErrors] = useState<FieldError[]>([]);
  const [busy, setBusy] = useState(false);
  const [shimlets, setShimlets] = useState<string[] | null>(null);
  const [pipelines, setPipelines] = useState<DefinitionSummary[] | null>(null);
  const [definition, setDefinition] = useState<WorkflowDefinition | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);

  useEffect(() => {
    const ctl = new AbortController();
    api<PluginsView>("/api/v1/plugins", { signal: ctl.signal })
      .then((p) => setShimlets(p.shimlets.map((s) => s.name)))
      .catch((e) => e.name !== "AbortError" && (setShimlets([]), setLoadError("Shimlets and pipelines could not be loaded; the server's defaults apply.")));
    api<DefinitionSummary[]>("/api/v1/workflow-definitions", { signal: ctl.signal })
      .then(setPipelines)
      .catch((e) => e.name !== "AbortError" && (setPipelines([]), setLoadError("Shimlets and pipelines could not be loaded; the server's defaults apply.")));
    return () => ctl.abort();
  }, []);

  // The chosen pipeline's declared inputs decide whether quantization is asked for.
  useEffect(() => {
    setDefinition(null);
    if (!form.pipeline) return;
    const ctl = new AbortController();
    const version = pipelines?.find((p) => p.definitionId === form.pipeline)?.version;
    api<WorkflowDefinition>(`/api/v1/workflow-definitions/${encodeURIComponent(form.pipeline)}${version ? `?version=${version}` : ""}`, { signal: ctl.signal })
      .then(setDefinition)
      .catch(() => undefined);
    return () => ctl.abort();
  }, [form.pipeline, pipelines]);

  const quantization = useMemo(() => !!form.pipeline && declaresQuantization(definition?.inputs), [form.pipeline, definition]);

  const set = <K extends keyof DeployForm>(key: K, value: DeployForm[K]) => {
    setForm((f) => ({ ...f, [key]: value }));
    if (errors[key as FormKey]) setErrors((e) => ({ ...e, [key]: undefined }));
  };

  const submit = async () => {
    const local = validate(form, { quantization });
    setTopError(null);
    setOtherErrors([]);
    if (Object.keys(local).length) {
      setErrors(local);
      return;
    }
    setErrors({});
    setBusy(true);
    try {
      const accepted = await api<DeployAccepted>("/api/v1/modserv/deploy", { method: "POST", body: buildDeployBody(form, { quantization }) });
      navigate(`/services/${encodeURIComponent(accepted.serviceId)}`);
    } catch (e) {
      const err = asApiError(e);
      const mapped = mapFieldErrors(err.errors);
      setErrors(mapped.byField);
      setOtherErrors(mapped.other);
      setTopError(err);
      setBusy(false);
      requestAnimationFrame(() => document.querySelector("[data-testid=deploy-error]")?.scrollIntoView({ block: "start", behavior: "smooth" }));
    }
  };

  if (!can("operator")) {
    return (
      <div>
        <PageHeader title="Deploy a model" />
        <div className="card">
          <Empty title="Operators only">
            Your key's role can view services but not deploy them. <Link to="/services">Back to the services</Link>
          </Empty>
        </div>
      </div>
    );
  }

  return (
    <div className="deploy-form">
      <PageHeader title="Deploy a model" subtitle="Runs the chosen pipeline: validate, render the runtime config, deploy through the shimlet, wait until it serves." />
      {topError && (
        <div className="banner banner-error" role="alert" data-testid="deploy-error">
          <div>
            <div>{topError.status === 409 ? `${topError.message} Undeploy it first or choose another name.` : topError.message}</div>
            {otherErrors.length > 0 && (
              <ul className="error-list">
                {otherErrors.map((e, i) => (
                  <li key={i}>
                    {e.field && <code>{e.field}</code>} {e.message}
                  </li>
                ))}
              </ul>
            )}
          </div>
        </div>
      )}
      {loadError && <div className="banner banner-warn">{loadError}</div>}
      <form
        className="card"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <fieldset className="section">
          <legend>Model</legend>
          <div className="form-grid">
            <TextField label="Model name" required value={form.modelName} onChange={(v) => set("modelName", v)} error={errors.modelName} help="Also the served model name; the service id is name-uuid." placeholder="qwen2-7b" />
            <TextField label="Model file" required value={form.modelFile} onChange={(v) => set("modelFile", v)} error={errors.modelFile} help="A .gguf file or a safetensors directory inside a model root." placeholder="/models/qwen2-7b-q4_k_m.gguf" mono />
          </div>
        </fieldset>

        <fieldset className="section">
          <legend>Resources per replica</legend>
          <div className="form-grid">
            <TextField label="Accelerator type" value={form.acceleratorType} onChange={(v) => set("acceleratorType", v)} error={errors.acceleratorType} placeholder="e.g. H20, A100 (empty: none)" />
            <TextField label="Accelerator count" type="number" min={0} value={form.acceleratorCount} onChange={(v) => set("acceleratorCount", v)} error={errors.acceleratorCount} />
            <TextField label="CPU" value={form.cpu} onChange={(v) => set("cpu", v)} error={errors.cpu} placeholder="e.g. 4 or 500m" />
            <TextField label="Memory" value={form.memory} onChange={(v) => set("memory", v)} error={errors.memory} placeholder="e.g. 16Gi" />
            <TextField label="Context length" type="number" min={1} value={form.contextLength} onChange={(v) => set("contextLength", v)} error={errors.contextLength} placeholder="the model's own" help="Tokens per sequence; the memory-fit check and the runtime use it." />
            <TextField label="Concurrent sequences" type="number" min={1} value={form.concurrentSequences} onChange={(v) => set("concurrentSequences", v)} error={errors.concurrentSequences} placeholder="1" help="Sequences served at once; the KV cache is sized for all of them." />
            <TextField label="Replicas" type="number" min={0} value={form.replicaCount} onChange={(v) => set("replicaCount", v)} error={errors.replicaCount} placeholder="1" />
          </div>
        </fieldset>

        <fieldset className="section">
          <legend>Where and how</legend>
          <div className="form-grid">
            <SelectField label="Shimlet" value={form.shimlet} onChange={(v) => set("shimlet", v)} error={errors.shimlet} loading={shimlets === null} help="The environment adapter (k8s, local, …).">
              <option value="">Server default</option>
              {shimlets?.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </SelectField>
            <SelectField label="Pipeline" value={form.pipeline} onChange={(v) => set("pipeline", v)} error={errors.pipeline} loading={pipelines === null} help={pipelines?.find((p) => p.definitionId === form.pipeline)?.description ?? undefined}>
              <option value="">Server default</option>
              {pipelines?.map((p) => (
                <option key={p.definitionId} value={p.definitionId}>
                  {p.name} ({p.definitionId} v{p.version})
                </option>
              ))}
            </SelectField>
            {quantization && <QuantizationField value={form.quantization} onChange={(v) => set("quantization", v)} error={errors.quantization} />}
            <TextField label="Runtime" value={form.runtime} onChange={(v) => set("runtime", v)} error={errors.runtime} placeholder="empty: chosen by the model's format" help="llama-cpp, vllm, sglang, …" />
            <TextField label="Namespace" value={form.namespace} onChange={(v) => set("namespace", v)} error={errors.namespace} placeholder="empty: the shimlet's default" />
            <LabelsField rows={form.labels} onChange={(rows) => set("labels", rows)} error={errors.labels} />
            <div className="field wide">
              <label className="check">
                <input type="checkbox" checked={form.dryRun} onChange={(e) => set("dryRun", e.target.checked)} aria-invalid={errors.dryRun ? true : undefined} />
                Dry run
              </label>
              <span className="help">Stop after config-rendering: see the deployment spec, deploy nothing.</span>
              {errors.dryRun && <span className="field-error">{errors.dryRun}</span>}
            </div>
            <div className="field wide">
              <label className="check">
                <input type="checkbox" checked={form.verifyChecksums} onChange={(e) => set("verifyChecksums", e.target.checked)} aria-invalid={errors.verifyChecksums ? true : undefined} />
                Verify checksums
              </label>
              <span className="help">Check every model file against SHA256SUMS next to the model before deploying (reads every byte).</span>
              {errors.verifyChecksums && <span className="field-error">{errors.verifyChecksums}</span>}
            </div>
          </div>
        </fieldset>

        <div className="form-actions">
          <Link className="btn" to="/services">
            Cancel
          </Link>
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? "Deploying…" : "Deploy"}
          </button>
        </div>
      </form>
    </div>
  );
}

function Field({ id, label, help, error, wide, children }: { id: string; label: string; help?: string; error?: string; wide?: boolean; children: ReactNode }) {
  return (
    <div className={`field${wide ? " wide" : ""}`}>
      <label className="label" htmlFor={id}>
        {label}
      </label>
      {children}
      {help && !error && (
        <span className="help" id={`${id}-help`}>
          {help}
        </span>
      )}
      {error && (
        <span className="field-error" id={`${id}-error`} data-field={label}>
          {error}
        </span>
      )}
    </div>
  );
}

function TextField({
  label,
  value,
  onChange,
  error,
  help,
  required,
  placeholder,
  type = "text",
  min,
  mono,
}: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  error?: string;
  help?: string;
  required?: boolean;
  placeholder?: string;
  type?: string;
  min?: number;
  mono?: boolean;
}) {
  const id = useId();
  return (
    <Field id={id} label={label} help={help} error={error}>
      <input
        id={id}
        type={type}
        min={min}
        value={value}
        required={required}
        placeholder={placeholder}
        className={mono ? "mono" : undefined}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-error` : help ? `${id}-help` : undefined}
      />
    </Field>
  );
}

function SelectField({ label, value, onChange, error, help, loading, children }: { label: string; value: string; onChange: (v: string) => void; error?: string; help?: string; loading?: boolean; children: ReactNode }) {
  const id = useId();
  return (
    <Field id={id} label={label} help={loading ? "Loading…" : help} error={error}>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)} aria-invalid={error ? true : undefined} aria-describedby={error ? `${id}-error` : undefined}>
        {children}
      </select>
    </Field>
  );
}

function QuantizationField({ value, onChange, error }: { value: string; onChange: (v: string) => void; error?: string }) {
  const id = useId();
  return (
    <Field id={id} label="Quantization" help="llama.cpp's quantization type; pick one or type another (e.g. q6_k)." error={error}>
      <input id={id} list={`${id}-types`} value={value} placeholder="q4_k_m" onChange={(e) => onChange(e.target.value)} aria-invalid={error ? true : undefined} />
      <datalist id={`${id}-types`}>
        {QUANTIZATION_TYPES.map((q) => (
          <option key={q} value={q} />
        ))}
      </datalist>
    </Field>
  );
}

function LabelsField({ rows, onChange, error }: { rows: { key: string; value: string }[]; onChange: (rows: { key: string; value: string }[]) => void; error?: string }) {
  const update = (i: number, patch: Partial<{ key: string; value: string }>) => onChange(rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  return (
    <div className="field wide" role="group" aria-labelledby="labels-legend">
      <span className="label" id="labels-legend">
        Labels
      </span>
      <div className="label-rows">
        {rows.map((r, i) => (
          <div className="label-row" key={i} data-testid="label-row">
            <input aria-label={`Label ${i + 1} key`} placeholder="key" value={r.key} onChange={(e) => update(i, { key: e.target.value })} aria-invalid={error ? true : undefined} />
            <span className="muted">=</span>
            <input aria-label={`Label ${i + 1} value`} placeholder="value" value={r.value} onChange={(e) => update(i, { value: e.target.value })} />
            <button type="button" className="btn btn-small btn-ghost" aria-label={`Remove label ${i + 1}`} onClick={() => onChange(rows.filter((_, j) => j !== i))}>
              ✕
            </button>
          </div>
        ))}
        <div>
          <button type="button" className="btn btn-small" onClick={() => onChange([...rows, { key: "", value: "" }])}>
            + Add label
          </button>
        </div>
      </div>
      {error && <span className="field-error">{error}</span>}
    </div>
  );
}
