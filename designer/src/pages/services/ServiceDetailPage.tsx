// /services/:serviceId: one service, live — state, diagnosis, state history, the pipeline graph with
// step statuses, the step logs (live tail), the rendered deployment spec, the model facts.
import { useCallback, useEffect, useMemo, useState, type ReactNode } from "react";
import { Link, useParams } from "react-router";
import { api, ApiError, asApiError } from "../../api/client";
import { RESYNC, useServerEvent } from "../../api/events";
import type { InstanceEvent, PendingApproval, PipelineView, ServiceDetail, ServiceSummary, StepEvent, UsageSeries, WorkflowDefinition } from "../../api/types";
import { LogView } from "../../live/LogView";
import { PipelineGraph } from "../../live/PipelineGraph";
import { StateTimeline } from "../../live/StateTimeline";
import { useCoalesced } from "../../live/coalesce";
import { statusesFromPipelineView } from "../../live/stepStatus";
import { bytes, dateTime } from "../../ui/format";
import { Badge, Empty, ErrorBanner, PageHeader, Spinner } from "../../ui/kit";
import { useAuth, type Role } from "../../auth";
import { gatewayBaseUrl, gatewaySnippet, servedByGateway, SNIPPET_LANGUAGES, type SnippetLanguage } from "./gatewaySnippet";
import { ServiceActions } from "./ServiceActions";
import { figure, sparkline, usageLines } from "./usageChart";
import { accelerators, approvalBody } from "./serviceList";
import "./services.css";


export default function ServiceDetailPage() {
  const { serviceId = "" } = useParams();
  const base = `/api/v1/modserv/${encodeURIComponent(serviceId)}`;
  const [detail, setDetail] = useState<ServiceDetail | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [pipeline, setPipeline] = useState<PipelineView | null>(null);
  const [definition, setDefinition] = useState<WorkflowDefinition | null>(null);
  const [step, setStep] = useState<string | null>(null);
  const [tab, setTab] = useState<"logs" | "spec" | "request">("logs");

  const loadDetail = useCallback(async () => {
    try {
      setDetail(await api<ServiceDetail>(base));
      setError(null);
    } catch (e) {
      setError(asApiError(e));
    }
  }, [base]);
  const loadPipeline = useCallback(async () => {
    try {
      setPipeline(await api<PipelineView>(`${base}/pipeline`));
    } catch {
      /* the detail's error explains it */
    }
  }, [base]);
  const refetchDetail = useCoalesced(loadDetail);
  const refetchPipeline = useCoalesced(loadPipeline);

  useEffect(() => {
    setDetail(null);
    setPipeline(null);
    setError(null);
    setStep(null);
    void loadDetail();
    void loadPipeline();
  }, [loadDetail, loadPipeline]);

  // The definition version the run used (the graph's shape).
  const defKey = pipeline ? `${pipeline.pipeline}@${pipeline.version ?? ""}` : null;
  useEffect(() => {
    if (!pipeline) return;
    const ctl = new AbortController();
    const q = pipeline.version != null ? `?version=${pipeline.version}` : "";
    api<WorkflowDefinition>(`/api/v1/workflow-definitions/${encodeURIComponent(pipeline.pipeline)}${q}`, { signal: ctl.signal })
      .then(setDefinition)
      .catch(() => setDefinition(null));
    return () => ctl.abort();
  }, [defKey]);

  const instanceId = detail?.instanceId ?? pipeline?.instanceId ?? null;

  useServerEvent<ServiceSummary>("service", (s) => {
    if (s?.serviceId !== serviceId) return;
    setDetail((d) => (d ? { ...d, service: s } : d));
    refetchDetail();
  });
  const concernsMe = (e: { correlationId: string | null; instanceId: string }) => e.correlationId === serviceId || (!!instanceId && e.instanceId === instanceId);
  useServerEvent<StepEvent>("step", (e) => {
    if (e && concernsMe(e)) refetchPipeline();
  });
  useServerEvent<InstanceEvent>("instance", (e) => {
    if (!e || !concernsMe(e)) return;
    refetchPipeline();
    if (e.instanceId !== instanceId) refetchDetail();
  });
  useServerEvent(RESYNC, () => {
    refetchDetail();
    refetchPipeline();
  });

  const statuses = useMemo(() => statusesFromPipelineView(pipeline), [pipeline]);

  if (error?.status === 404) {
    return (
      <div>
        <PageHeader title="Service not found" />
        <div className="card">
          <Empty title={`No service "${serviceId}"`}>
            It may have been removed, or the link is wrong. <Link to="/services">See all services</Link>
          </Empty>
        </div>
      </div>
    );
  }
  if (!detail) {
    return error ? <ErrorBanner error={error} onRetry={() => void loadDetail()} /> : <Spinner label="Loading the service…" />;
  }

  const s = detail.service;
  const lastError = detail.lastError;
  return (
    <div data-testid="service-detail" data-state={s.state}>
      <PageHeader
        title={
          <span className="detail-head">
            {s.modelName} <Badge value={s.state} />
          </span>
        }
        subtitle={
          <>
            <span className="mono">{s.serviceId}</span>
            <div className="detail-meta">
              <span>
                Endpoint: {s.endpoint ? <Endpoint url={s.endpoint} /> : <span>not serving</span>}
              </span>
              <span>
                Shimlet <b>{s.shimlet}</b>
              </span>
              <span>
                Pipeline <b>{s.pipeline}</b>
                {pipeline?.version != null && ` v${pipeline.version}`}
              </span>
              <span>
                Replicas <b>{s.replicas}</b>
              </span>
              <span>
                Accelerators <b>{accelerators(s)}</b>
              </span>
              <span>
                Created by <b>{s.createdBy}</b> {dateTime(s.createdAt)}
              </span>
            </div>
          </>
        }
        actions={
          <ServiceActions
            service={s}
            onChanged={(u) => {
              if (u) setDetail((d) => (d ? { ...d, service: u } : d));
              refetchDetail();
              refetchPipeline();
            }}
          />
        }
      />
      {error && <ErrorBanner error={error} onRetry={() => void loadDetail()} />}

      {detail.pendingApproval && s.state === "AwaitingApproval" && (
        <ApprovalPanel
          base={base}
          pending={detail.pendingApproval}
          onDecided={() => {
            refetchDetail();
            refetchPipeline();
          }}
        />
      )}

      {lastError && (lastError.type || lastError.message) && (
        <section className="diagnosis" role="alert" data-testid="diagnosis">
          <h2>Why it failed</h2>
          <div>
            <span className="diag-type">{lastError.type ?? "Error"}</span>
            {lastError.step && (
              <>
                {" "}
                in step{" "}
                <button className="btn btn-small" onClick={() => (setStep(lastError.step), setTab("logs"))} title="Show this step's log">
                  {lastError.step}
                </button>
              </>
            )}
          </div>
          {lastError.message && <div className="diag-msg">{lastError.message}</div>}
        </section>
      )}

        <section className="card" style={{ marginBottom: 16 }}>
          <div className="card-head">
            <h2>Pipeline</h2>
            <span className="muted">
              {pipeline?.status && <Badge value={pipeline.status} />}
              {step && (
                <button className="btn btn-small btn-ghost" onClick={() => setStep(null)}>
                  Showing {step} · clear
                </button>
              )}
            </span>
          </div>
          {definition ? (
            <PipelineGraph definition={definition} statuses={statuses} selectedStep={step} onSelectStep={(id) => (setStep(id), setTab("logs"))} />
          ) : pipeline ? (
            <Spinner label="Loading the pipeline…" />
          ) : (
            <Empty title="No pipeline view" />
          )}
        </section>

      <div className="detail-grid">
        <div>

          <section className="card">
            <div className="tabs" role="tablist">
              <button role="tab" aria-selected={tab === "logs"} onClick={() => setTab("logs")}>
                Step logs
              </button>
              <button role="tab" aria-selected={tab === "spec"} onClick={() => setTab("spec")}>
                Deployment spec
              </button>
              <button role="tab" aria-selected={tab === "request"} onClick={() => setTab("request")}>
                Desired state
              </button>
            </div>
            {tab === "logs" &&
              (instanceId ? (
                <LogView
                  key={instanceId}
                  pagedPath={`${base}/pipeline/logs`}
                  steps={pipeline?.steps.map((x) => x.name)}
                  step={step}
                  onStepChange={setStep}
                  onEntries={(entries) => {
                    // Step transitions in the journal also refresh the graph (coalesced), so it is right even
                    // when the server-wide event stream is reconnecting.
                    if (entries.some((e) => e.event !== "StepLog")) refetchPipeline();
                  }}
                  onEnded={() => {
                    refetchPipeline();
                    refetchDetail();
                  }}
                />
              ) : (
                <Empty title="No pipeline run yet">The log appears as soon as the pipeline starts.</Empty>
              ))}
            {tab === "spec" && <Manifests base={base} version={`${instanceId}:${pipeline?.steps.find((x) => x.name === "config-rendering")?.status ?? ""}`} />}
            {tab === "request" && (
              <>
                <pre className="spec">{JSON.stringify(detail.request, null, 2)}</pre>
                <h3>Changes</h3>
                <ol className="desired-history">
                  {detail.desiredHistory.map((c) => (
                    <li key={c.generation}>
                      <time dateTime={c.at}>{new Date(c.at).toLocaleString()}</time> · <b>{c.operator}</b> · {c.change}
                    </li>
                  ))}
                </ol>
              </>
            )}
          </section>
        </div>

        <div>
          {servedByGateway(s.state) && <GatewayCard model={s.modelName} />}
          {servedByGateway(s.state) && <UsageCard base={base} />}
          <section className="card">
            <h2>State history</h2>
            {detail.history.length ? <StateTimeline history={detail.history} current={s.state} /> : <span className="muted">No transitions yet.</span>}
          </section>
          <ModelCard detail={detail} />
        </div>
      </div>
    </div>
  );
}

// The sign-off the deploy pipeline waits for: approvers (and admins) approve or reject with a comment.
function ApprovalPanel({ base, pending, onDecided }: { base: string; pending: PendingApproval; onDecided: () => void }) {
  const { can } = useAuth();
  const [comment, setComment] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const roles = pending.signal.roles;
  const allowed = roles.some((r) => can(r as Role));
  const decide = async (decision: "approve" | "reject") => {
    setBusy(true);
    setError(null);
    try {
      await api(`${base}/approval`, { method: "POST", body: approvalBody(decision, comment) });
      setComment("");
      onDecided();
    } catch (e) {
      setError(asApiError(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="card approval-panel" data-testid="approval-panel">
      <h2>Waiting for approval</h2>
      <p>
        <b>{pending.signal.description ?? "The pipeline waits for a sign-off."}</b>
      </p>
      <p>
        Step <b>{pending.signal.activityId}</b> has waited since{" "}
        {dateTime(pending.signal.since)}
        {pending.signal.timeoutAt && <> and takes its timeout path at {dateTime(pending.signal.timeoutAt)}</>}. Role needed:{" "}
        <b>{roles.join(" or ")}</b>.
      </p>
      {error && <ErrorBanner error={error} />}
      {allowed ? (
        <div className="approval-form">
          <textarea
            aria-label="Approval comment"
            placeholder="Comment (recorded in the history and the journal)"
            maxLength={2000}
            value={comment}
            onChange={(e) => setComment(e.target.value)}
            data-testid="approval-comment"
          />
          <span className="btn-group">
            <button className="btn btn-primary" disabled={busy} onClick={() => void decide("approve")} data-testid="approve">
              Approve
            </button>
            <button className="btn btn-danger" disabled={busy} onClick={() => void decide("reject")} data-testid="reject">
              Reject
            </button>
          </span>
        </div>
      ) : (
        <p className="muted">Your key cannot decide this approval; ask someone with role {roles.join(" or ")}.</p>
      )}
    </section>
  );
}

function Endpoint({ url }: { url: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <span className="endpoint" data-testid="endpoint">
      {url}
      <button
        className="btn btn-small btn-ghost"
        onClick={() => {
          void navigator.clipboard?.writeText(url).then(() => {
            setCopied(true);
            setTimeout(() => setCopied(false), 1500);
          });
        }}
        aria-label="Copy endpoint"
      >
        {copied ? "Copied" : "Copy"}
      </button>
    </span>
  );
}

// How to call the service through the control plane's OpenAI-compatible gateway (docs/gateway.md).
function GatewayCard({ model }: { model: string }) {
  const { me } = useAuth();
  const [language, setLanguage] = useState<SnippetLanguage>("python");
  const [copied, setCopied] = useState<string | null>(null);
  const baseUrl = gatewayBaseUrl(window.location.origin);
  const snippet = gatewaySnippet(language, baseUrl, model, me?.authRequired ?? false);
  const copy = (what: string, text: string) => {
    void navigator.clipboard?.writeText(text).then(() => {
      setCopied(what);
      setTimeout(() => setCopied(null), 1500);
    });
  };
  return (
    <section className="card gateway-card" data-testid="gateway">
      <h2>Use it (OpenAI API)</h2>
      <div className="gateway-base">
        <span className="muted">Base URL</span>
        <span className="endpoint" data-testid="gateway-base-url">
          {baseUrl}
          <button className="btn btn-small btn-ghost" onClick={() => copy("base", baseUrl)} aria-label="Copy base URL">
            {copied === "base" ? "Copied" : "Copy"}
          </button>
        </span>
        <span className="muted">
          model <b className="mono">{model}</b>
        </span>
      </div>
      <div className="tabs" role="tablist">
        {SNIPPET_LANGUAGES.map((l) => (
          <button key={l.id} role="tab" aria-selected={language === l.id} onClick={() => setLanguage(l.id)}>
            {l.label}
          </button>
        ))}
      </div>
      <div className="gateway-snippet">
        <button className="btn btn-small btn-ghost gateway-copy" onClick={() => copy("snippet", snippet)} aria-label="Copy snippet">
          {copied === "snippet" ? "Copied" : "Copy"}
        </button>
        <pre className="spec" data-testid="gateway-snippet">
          {snippet}
        </pre>
      </div>
    </section>
  );
}

// The service's traffic through the gateway over the last 10 minutes, read again every 10 s.
function UsageCard({ base }: { base: string }) {
  const [series, setSeries] = useState<UsageSeries | null>(null);
  useEffect(() => {
    const ctl = new AbortController();
    const load = () =>
      api<UsageSeries>(`${base}/usage`, { signal: ctl.signal })
        .then(setSeries)
        .catch(() => {
          /* the chart is optional: the rest of the page shows what is wrong */
        });
    void load();
    const timer = setInterval(() => void load(), 10_000);
    return () => {
      clearInterval(timer);
      ctl.abort();
    };
  }, [base]);
  if (!series) return null;
  return (
    <section className="card usage-card" data-testid="usage">
      <h2>Traffic (last 10 min)</h2>
      {usageLines(series).map((line) => (
        <div className="usage-line" key={line.label}>
          <span className="muted">{line.label}</span>
          <svg className="usage-spark" height="28" viewBox="-1 -1 162 30" preserveAspectRatio="none" aria-hidden="true">
            <polyline points={sparkline(line.values, 160, 28)} fill="none" stroke="var(--accent)" strokeWidth="1.5" vectorEffect="non-scaling-stroke" />
          </svg>
          <b className="mono">
            {figure(line.current)} {line.unit}
          </b>
        </div>
      ))}
    </section>
  );
}

function Manifests({ base, version }: { base: string; version: string }) {
  const [spec, setSpec] = useState<unknown>(undefined);
  const [error, setError] = useState<ApiError | null>(null);
  useEffect(() => {
    const ctl = new AbortController();
    setError(null);
    api<unknown>(`${base}/manifests`, { signal: ctl.signal })
      .then(setSpec)
      .catch((e) => {
        if ((e as Error).name !== "AbortError") setError(asApiError(e));
      });
    return () => ctl.abort();
  }, [base, version]);
  if (error?.status === 404) return <Empty title="Not rendered yet">The deployment spec exists once the config-rendering step has run.</Empty>;
  if (error) return <ErrorBanner error={error} />;
  if (spec === undefined) return <Spinner label="Loading the deployment spec…" />;
  return (
    <pre className="spec" data-testid="manifests">
      {JSON.stringify(spec, null, 2)}
    </pre>
  );
}

function num(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

function ModelCard({ detail }: { detail: ServiceDetail }) {
  const m = detail.model;
  const mem = detail.memory;
  if (!m && !mem) return null;
  const total = num(mem?.totalBytes);
  const parts = [
    ["weights", num(mem?.weightsBytes), "var(--accent)"],
    ["KV cache", num(mem?.kvCacheBytes), "var(--warn)"],
    ["prefill activations", num(mem?.activationBytes), "var(--busy)"],
    ["overhead", num(mem?.overheadBytes), "var(--muted)"],
  ] as const;
  return (
    <section className="card" data-testid="model-facts">
      <h2>Model</h2>
      {m && (
        <dl className="kv">
          {m.architecture != null && (
            <>
              <dt>Architecture</dt>
              <dd>{String(m.architecture)}</dd>
            </>
          )}
          {num(m.parameterCount) != null && (
            <>
              <dt>Parameters</dt>
              <dd>{num(m.parameterCount)!.toLocaleString()}</dd>
            </>
          )}
          {m.dataType != null && (
            <>
              <dt>Data type</dt>
              <dd>{String(m.dataType)}</dd>
            </>
          )}
          {num(m.contextLength) != null && (
            <>
              <dt>Context</dt>
              <dd>{num(m.contextLength)!.toLocaleString()} tokens</dd>
            </>
          )}
          {num(m.layers) != null && (
            <>
              <dt>Layers / heads</dt>
              <dd>
                {String(m.layers)} / {String(m.attentionHeads ?? "?")} (KV {String(m.kvHeads ?? "?")})
              </dd>
            </>
          )}
          <dt>File</dt>
          <dd className="mono">{detail.modelFile}</dd>
        </dl>
      )}
      {mem && (
        <>
          <h3 style={{ marginTop: 14 }}>Memory estimate</h3>
          {total != null && total > 0 && (
            <div className="mem-bar" aria-hidden>
              {parts.map(([k, v, c]) => (v ? <span key={k} style={{ width: `${(100 * v) / total}%`, background: c }} title={`${k}: ${bytes(v)}`} /> : null))}
            </div>
          )}
          <dl className="kv">
            {parts.map(([k, v]) => (
              <FragmentKV key={k} k={k} v={bytes(v)} />
            ))}
            <FragmentKV k="Total" v={<b>{bytes(total)}</b>} />
            {num(mem.availableBytes) != null && <FragmentKV k="Available" v={bytes(num(mem.availableBytes))} />}
            {mem.fits != null && <FragmentKV k="Fits" v={mem.fits ? <span className="badge badge-ok">fits</span> : <span className="badge badge-bad">does not fit</span>} />}
          </dl>
        </>
      )}
    </section>
  );
}

function FragmentKV({ k, v }: { k: string; v: ReactNode }) {
  return (
    <>
      <dt>{k}</dt>
      <dd>{v}</dd>
    </>
  );
}
