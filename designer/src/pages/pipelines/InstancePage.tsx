// /instances/:instanceId: one workflow run (e.g. started from the designer), live — status, the graph
// with per-step statuses computed from the step attempts, and the journal with a live tail.
import { useCallback, useEffect, useMemo, useState } from "react";
import { Link, useParams } from "react-router";
import { api, ApiError, asApiError } from "../../api/client";
import { RESYNC, useServerEvent } from "../../api/events";
import type { InstanceEvent, StepAttempt, StepEvent, WorkflowDefinition, WorkflowInstance } from "../../api/types";
import { LogView } from "../../live/LogView";
import { PipelineGraph } from "../../live/PipelineGraph";
import { useCoalesced } from "../../live/coalesce";
import { statusesFromAttempts } from "../../live/stepStatus";
import { dateTime, duration } from "../../ui/format";
import { Badge, Empty, ErrorBanner, PageHeader, Spinner } from "../../ui/kit";
import "../../live/live.css";

interface InstanceView {
  instance: WorkflowInstance;
  input?: unknown;
  output?: unknown;
  steps: StepAttempt[];
}


export default function InstancePage() {
  const { instanceId = "" } = useParams();
  const base = `/api/v1/workflow-instances/${encodeURIComponent(instanceId)}`;
  const [view, setView] = useState<InstanceView | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [definition, setDefinition] = useState<WorkflowDefinition | null>(null);
  const [step, setStep] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      const v = await api<InstanceView>(base);
      setView({ ...v, steps: v.steps ?? [] });
      setError(null);
    } catch (e) {
      setError(asApiError(e));
    }
  }, [base]);
  const refetch = useCoalesced(load);

  useEffect(() => {
    setView(null);
    setError(null);
    void load();
  }, [load]);

  const defKey = view ? `${view.instance.definitionId}@${view.instance.definitionVersion}` : null;
  useEffect(() => {
    if (!view) return;
    const ctl = new AbortController();
    const { definitionId, definitionVersion } = view.instance;
    api<WorkflowDefinition>(`/api/v1/workflow-definitions/${encodeURIComponent(definitionId)}?version=${definitionVersion}`, { signal: ctl.signal })
      .then(setDefinition)
      .catch(() => setDefinition(null));
    return () => ctl.abort();
  }, [defKey]);

  useServerEvent<StepEvent>("step", (e) => {
    if (e?.instanceId === instanceId) refetch();
  });
  useServerEvent<InstanceEvent>("instance", (e) => {
    if (e?.instanceId === instanceId) refetch();
  });
  useServerEvent(RESYNC, () => refetch());


  const activityIds = useMemo(() => definition?.root.activities.map((a) => a.id) ?? [], [definition]);
  const statuses = useMemo(
    () => (view ? statusesFromAttempts(activityIds, view.steps, view.instance.status) : {}),
    [activityIds, view],
  );

  if (error?.status === 404) {
    return (
      <div>
        <PageHeader title="Run not found" />
        <div className="card">
          <Empty title={`No workflow instance "${instanceId}"`}>
            <Link to="/pipelines">See the pipelines</Link>
          </Empty>
        </div>
      </div>
    );
  }
  if (!view) return error ? <ErrorBanner error={error} onRetry={() => void load()} /> : <Spinner label="Loading the run…" />;

  const i = view.instance;
  const started = i.startedAt ?? i.createdAt;

  return (
    <div data-testid="instance-page" data-status={i.status}>
      <PageHeader
        title={
          <span className="detail-head">
            {definition?.name ?? i.definitionId} <Badge value={i.status} />
          </span>
        }
        subtitle={
          <>
            <span className="mono">{i.id}</span>
            <div className="detail-meta" style={{ display: "flex", gap: 18, flexWrap: "wrap", marginTop: 6 }}>
              <span>
                Definition <Link to={`/pipelines/${encodeURIComponent(i.definitionId)}`}>{i.definitionId}</Link> v{i.definitionVersion}
              </span>
              <span>Started by {i.operator}</span>
              <span>Started {dateTime(started)}</span>
              <Elapsed start={started} end={i.finishedAt} />
              {i.correlationId && (
                <span>
                  Service <Link to={`/services/${encodeURIComponent(i.correlationId)}`}>{i.correlationId}</Link>
                </span>
              )}
            </div>
          </>
        }
        actions={
          definition && (
            <>
              <Link className="btn" to={`/designer/${encodeURIComponent(i.definitionId)}`}>
                Open in designer
              </Link>
              {/* The optional Elsa Studio add-on (docs/elsa-studio.md): its instance viewer on this run. */}
              <a className="btn" href={`/elsa-studio/?instance=${encodeURIComponent(i.id)}`} target="_blank" rel="noopener">
                Open in Elsa Studio
              </a>
            </>
          )
        }
      />
      {error && <ErrorBanner error={error} onRetry={() => void load()} />}
      {(i.errorType || i.errorMessage) && (
        <div className="banner banner-error" role="alert" data-testid="diagnosis" style={{ flexDirection: "column", alignItems: "flex-start" }}>
          <div>
            <b className="mono">{i.errorType ?? "Error"}</b>
            {i.faultedStep && <> in step <b>{i.faultedStep}</b></>}
          </div>
          {i.errorMessage && <div style={{ whiteSpace: "pre-wrap" }}>{i.errorMessage}</div>}
        </div>
      )}
      <section className="card">
        <div className="card-head" style={{ display: "flex", justifyContent: "space-between", marginBottom: 10 }}>
          <h2 style={{ margin: 0 }}>Steps</h2>
          {step && (
            <button className="btn btn-small btn-ghost" onClick={() => setStep(null)}>
              Showing {step} · clear
            </button>
          )}
        </div>
        {definition ? <PipelineGraph definition={definition} statuses={statuses} selectedStep={step} onSelectStep={setStep} /> : <Spinner label="Loading the definition…" />}
      </section>
      <section className="card">
        <h2>Journal</h2>
        <LogView
          pagedPath={`${base}/journal`}
          steps={activityIds}
          step={step}
          onStepChange={setStep}
          onEntries={(entries) => entries.some((e) => e.event !== "StepLog") && refetch()}
          onEnded={refetch}
        />
      </section>
    </div>
  );
}

/** "Running for 12.3 s", ticking once a second while running; only this span re-renders (not the graph or the logs). */
function Elapsed({ start, end }: { start: string; end: string | null }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (end) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [end]);
  const ms = (end ? Date.parse(end) : now) - Date.parse(start);
  return (
    <span data-testid="instance-duration">
      {end ? "Took" : "Running for"} {duration(ms)}
    </span>
  );
}
