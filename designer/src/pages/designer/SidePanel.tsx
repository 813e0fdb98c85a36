// The right-hand panel: the selected step's settings, or (nothing selected) the definition's own
// fields; server validation problems appear under the field their JSON path names, and all of them
// in a list below (clicking one selects its step).
import { useId } from "react";
import type { ActivityDescriptor, ActivityNode, RetrySettings, WorkflowDefinition } from "../../api/types";
import { shortType } from "../../ui/format";
import { definitionFieldErrors, fieldErrors, type MappedError } from "./errors";
import { DraftText, DURATION_HINT, FieldShell, InputEditor } from "./fields";
import { checkActivityId, updateActivity } from "./model";

export type Change = (def: WorkflowDefinition, key?: string) => void;

const text = (t: string) => ({ value: t === "" ? undefined : t });

function setKey<T extends object>(obj: T | undefined, key: string, value: unknown): T {
  const next = { ...(obj ?? {}) } as Record<string, unknown>;
  if (value === undefined) delete next[key];
  else next[key] = value;
  return next as T;
}

export function StepPanel({
  definition,
  activity,
  descriptor,
  errors,
  readOnly,
  onChange,
  onRename,
  onDelete,
}: {
  definition: WorkflowDefinition;
  activity: ActivityNode;
  descriptor: ActivityDescriptor | null;
  errors: MappedError[];
  readOnly: boolean;
  onChange: Change;
  onRename: (from: string, to: string) => void;
  onDelete: () => void;
}) {
  const uid = useId();
  const aid = activity.id;
  const update = (fn: (a: ActivityNode) => ActivityNode, key: string) => onChange(updateActivity(definition, aid, fn), `${aid}:${key}`);
  const setInput = (name: string, value: unknown) =>
    update((a) => ({ ...a, inputs: setKey(a.inputs, name, value) }), `inputs.${name}`);
  const setRetry = (name: keyof RetrySettings, value: unknown) =>
    update((a) => {
      const retry = setKey<RetrySettings>(a.retry, name as string, value);
      if (Object.keys(retry).length > 0) return { ...a, retry };
      const { retry: _old, ...rest } = a;
      return rest as ActivityNode;
    }, `retry.${String(name)}`);
  const declared = new Set((descriptor?.inputs ?? []).map((i) => i.name));
  const undeclared = Object.keys(activity.inputs ?? {}).filter((k) => !declared.has(k));
  const stepErrors = fieldErrors(errors, aid, "");
  const otherErrors = errors.filter(
    (e) => e.activityId === aid && e.field !== "" && !e.field.startsWith("inputs.") && !e.field.startsWith("retry") && !["id", "type", "timeout", "displayName"].includes(e.field),
  );
  const retry = activity.retry ?? {};
  const f = (name: string) => fieldErrors(errors, aid, name);

  return (
    <div className="dz-panel-body" aria-label={`Step ${aid}`}>
      <div className="dz-panel-title">
        <div>
          <h2>{activity.displayName || aid}</h2>
          <div className="muted mono dz-small">{activity.type}</div>
        </div>
        {!readOnly && (
          <button type="button" className="btn btn-small btn-ghost dz-danger" onClick={onDelete} title="Delete this step and its connections (Delete key)">
            Delete step
          </button>
        )}
      </div>
      {descriptor?.description && <p className="dz-desc">{descriptor.description}</p>}
      {[...stepErrors, ...otherErrors.map((e) => e.message)].map((m, i) => (
        <div key={i} className="banner banner-error dz-small" role="alert">
          {m}
        </div>
      ))}

      <FieldShell htmlFor={`${uid}-id`} label="Step id" required errors={f("id")} help={"Unique; other steps' templates refer to it as steps[\"id\"]. Renaming updates connections (not templates)."}>
        <DraftText
          key={aid}
          id={`${uid}-id`}
          label="Step id"
          value={aid}
          onCommit
          readOnly={readOnly}
          invalid={f("id").length > 0}
          parse={(t) => {
            const problem = checkActivityId(definition, aid, t.trim());
            return problem ? { error: problem } : { value: t.trim() };
          }}
          onChange={(v) => onRename(aid, String(v))}
        />
      </FieldShell>
      <FieldShell htmlFor={`${uid}-dn`} label="Display name" errors={f("displayName")}>
        <DraftText
          id={`${uid}-dn`}
          label="Display name"
          value={activity.displayName}
          readOnly={readOnly}
          placeholder={descriptor?.displayName}
          parse={text}
          onChange={(v) => update((a) => setKey(a, "displayName", v), "displayName")}
        />
      </FieldShell>
      {f("type").length > 0 && (
        <FieldShell label="Type" errors={f("type")}>
          <div className="mono">{shortType(activity.type)}</div>
        </FieldShell>
      )}

      <h3 className="dz-section">Inputs</h3>
      {!descriptor && <div className="dz-hint">Unknown activity type: its inputs are edited as JSON below.</div>}
      {descriptor?.inputs.length === 0 && <div className="dz-hint">This activity has no inputs.</div>}
      {descriptor?.inputs.map((input) => (
        <InputEditor
          key={`${aid}/${input.name}`}
          input={input}
          value={activity.inputs?.[input.name]}
          onChange={(v) => setInput(input.name, v)}
          errors={f(`inputs.${input.name}`)}
          readOnly={readOnly}
        />
      ))}
      {undeclared.map((name) => (
        <InputEditor
          key={`${aid}/${name}`}
          input={{ name, type: "json", options: null, required: false, default: null, description: "Not an input of this activity type.", uiHint: null }}
          value={activity.inputs?.[name]}
          onChange={(v) => setInput(name, v)}
          errors={f(`inputs.${name}`)}
          readOnly={readOnly}
        />
      ))}

      <h3 className="dz-section">Retry and timeout</h3>
      <div className="dz-grid">
        <FieldShell htmlFor={`${uid}-ma`} label="Max attempts" errors={f("retry.maxAttempts")} help="1–100; 1 means no retry.">
          <DraftText
            id={`${uid}-ma`}
            label="Max attempts"
            value={retry.maxAttempts}
            placeholder="1"
            inputMode="numeric"
            readOnly={readOnly}
            parse={(t) => (t.trim() === "" ? { value: undefined } : /^\d+$/.test(t.trim()) ? { value: Number(t) } : { error: "A whole number." })}
            onChange={(v) => setRetry("maxAttempts", v)}
          />
        </FieldShell>
        <FieldShell htmlFor={`${uid}-bo`} label="Backoff" errors={f("retry.backoff")}>
          <select id={`${uid}-bo`} aria-label="Backoff" value={retry.backoff ?? ""} disabled={readOnly} onChange={(e) => setRetry("backoff", e.target.value || undefined)}>
            <option value="">default</option>
            <option value="constant">constant</option>
            <option value="linear">linear</option>
            <option value="exponential">exponential</option>
          </select>
        </FieldShell>
        <FieldShell htmlFor={`${uid}-de`} label="Retry delay" errors={f("retry.delay")}>
          <DraftText id={`${uid}-de`} label="Retry delay" value={retry.delay} placeholder="e.g. 2s" readOnly={readOnly} parse={text} onChange={(v) => setRetry("delay", v)} />
        </FieldShell>
        <FieldShell htmlFor={`${uid}-md`} label="Max delay" errors={f("retry.maxDelay")}>
          <DraftText id={`${uid}-md`} label="Max delay" value={retry.maxDelay} placeholder="e.g. 30s" readOnly={readOnly} parse={text} onChange={(v) => setRetry("maxDelay", v)} />
        </FieldShell>
        <FieldShell label="Jitter" errors={f("retry.jitter")}>
          <label className="check">
            <input type="checkbox" aria-label="Jitter" checked={retry.jitter === true} disabled={readOnly} onChange={(e) => setRetry("jitter", e.target.checked ? true : undefined)} />
            <span className="muted">randomize delays</span>
          </label>
        </FieldShell>
        <FieldShell htmlFor={`${uid}-to`} label="Timeout" errors={f("timeout")}>
          <DraftText
            id={`${uid}-to`}
            label="Timeout"
            value={activity.timeout}
            placeholder="none"
            readOnly={readOnly}
            parse={text}
            onChange={(v) => update((a) => setKey(a, "timeout", v), "timeout")}
          />
        </FieldShell>
      </div>
      <div className="help dz-small">Durations: {DURATION_HINT} The timeout applies to each attempt.</div>
    </div>
  );
}

export function DefinitionPanel({
  definition,
  errors,
  readOnly,
  onChange,
}: {
  definition: WorkflowDefinition;
  errors: MappedError[];
  readOnly: boolean;
  onChange: Change;
}) {
  const uid = useId();
  const set = (key: string, value: unknown) => onChange(setKey(definition, key, value), `def:${key}`);
  return (
    <div className="dz-panel-body" aria-label="Pipeline">
      <div className="dz-panel-title">
        <div>
          <h2>Pipeline</h2>
          <div className="muted dz-small">Select a step on the canvas to edit it.</div>
        </div>
      </div>
      <FieldShell
        htmlFor={`${uid}-id`}
        label="Definition id"
        required
        errors={definitionFieldErrors(errors, "definitionId")}
        help="Lower-case letters, digits, '-', '_', '.'. Saving under another id creates another pipeline."
      >
        <DraftText id={`${uid}-id`} label="Definition id" value={definition.definitionId} readOnly={readOnly} parse={(t) => ({ value: t.trim() })} onChange={(v) => set("definitionId", v)} />
      </FieldShell>
      <FieldShell htmlFor={`${uid}-name`} label="Name" errors={definitionFieldErrors(errors, "name")}>
        <DraftText id={`${uid}-name`} label="Name" value={definition.name} readOnly={readOnly} parse={text} onChange={(v) => set("name", v)} />
      </FieldShell>
      <FieldShell htmlFor={`${uid}-desc`} label="Description" errors={definitionFieldErrors(errors, "description")}>
        <DraftText id={`${uid}-desc`} label="Description" value={definition.description} multiline rows={3} readOnly={readOnly} parse={text} onChange={(v) => set("description", v)} />
      </FieldShell>
      <FieldShell
        htmlFor={`${uid}-inputs`}
        label="Declared inputs"
        errors={definitionFieldErrors(errors, "inputs")}
        help={
          <>
            A JSON array of {"{ name, type, required, default, description }"}; steps read them as {"{{ input.<name> }}"}. Types: string, integer, number, boolean,
            object, array, duration.
          </>
        }
      >
        <DraftText
          id={`${uid}-inputs`}
          label="Declared inputs"
          value={definition.inputs ?? []}
          multiline
          rows={10}
          readOnly={readOnly}
          parse={(t) => {
            if (t.trim() === "") return { value: [] };
            try {
              const v = JSON.parse(t);
              return Array.isArray(v) ? { value: v } : { error: "Enter a JSON array." };
            } catch (e) {
              return { error: `Not valid JSON: ${(e as Error).message}` };
            }
          }}
          onChange={(v) => set("inputs", (v as unknown[]).length ? v : undefined)}
        />
      </FieldShell>
      <div className="dz-small muted">
        {definition.root.activities.length} step{definition.root.activities.length === 1 ? "" : "s"}, {definition.root.connections.length} connection
        {definition.root.connections.length === 1 ? "" : "s"}
        {definition.version ? ` · loaded version ${definition.version}` : ""}
      </div>
    </div>
  );
}

/** All problems of the last validation or save; clicking one selects its step. */
export function ErrorList({ errors, onSelect }: { errors: MappedError[]; onSelect: (activityId: string | null) => void }) {
  if (errors.length === 0) return null;
  return (
    <section className="dz-errors" aria-label="Problems">
      <h3>
        {errors.length} problem{errors.length === 1 ? "" : "s"}
      </h3>
      <ul>
        {errors.map((e, i) => (
          <li key={i}>
            <button type="button" onClick={() => onSelect(e.activityId)} title={e.path}>
              {e.activityId && <span className="dz-err-step mono">{e.activityId}</span>}
              <span className="dz-err-path mono">{e.field || e.path || "$"}</span>
              <span className="dz-err-msg">{e.message}</span>
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

