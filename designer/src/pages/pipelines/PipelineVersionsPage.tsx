// /pipelines/:definitionId — the versions of one definition: view a version (graph or JSON), compare
// it with the previous one (line diff of the key-sorted JSON plus a structural summary), open it in
// the designer, or run it.
import { useCallback, useEffect, useMemo, useState } from "react";
import { Link, useParams, useSearchParams } from "react-router";
import { diffLines } from "diff";
import { api, ApiError, asApiError } from "../../api/client";
import { useServerEvent } from "../../api/events";
import type { ActivityDescriptor, DefinitionSummary, WorkflowDefinition } from "../../api/types";
import { useAuth } from "../../auth";
import { dateTime } from "../../ui/format";
import { Empty, ErrorBanner, PageHeader, Spinner } from "../../ui/kit";
import { DefinitionGraph } from "../designer/DefinitionGraph";
import { diffRows, isEmptyDiff, stableStringify, structuralDiff, type StructuralDiff } from "./compare";
import { RunModal } from "./RunModal";
import "./pipelines.css";

type Tab = "graph" | "json" | "compare";


function useDefinition(id: string, version: number | null) {
  const [state, setState] = useState<{ key: string; def: WorkflowDefinition | null; error: ApiError | null }>({ key: "", def: null, error: null });
  const key = `${id}@${version ?? ""}`;
  useEffect(() => {
    if (version === null) return;
    const ctrl = new AbortController();
    api<WorkflowDefinition>(`/api/v1/workflow-definitions/${encodeURIComponent(id)}?version=${version}`, { signal: ctrl.signal })
      .then((def) => setState({ key, def, error: null }))
      .catch((e) => (e as Error).name !== "AbortError" && setState({ key, def: null, error: asApiError(e) }));
    return () => ctrl.abort();
  }, [id, version, key]);
  return state.key === key ? state : { key, def: null, error: null };
}

export default function PipelineVersionsPage() {
  const { definitionId = "" } = useParams();
  const [search, setSearch] = useSearchParams();
  const { can } = useAuth();
  const [versions, setVersions] = useState<DefinitionSummary[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [descriptors, setDescriptors] = useState<ActivityDescriptor[]>([]);
  const [runOpen, setRunOpen] = useState(false);
  const tab = (search.get("view") as Tab) || "graph";

  const load = useCallback(async () => {
    try {
      const list = await api<DefinitionSummary[]>(`/api/v1/workflow-definitions/${encodeURIComponent(definitionId)}/versions`);
      setVersions([...list].sort((a, b) => b.version - a.version));
      setError(null);
    } catch (e) {
      setError(asApiError(e));
    }
  }, [definitionId]);

  useEffect(() => {
    setVersions(null);
    void load();
  }, [load]);
  useEffect(() => {
    api<ActivityDescriptor[]>("/api/v1/activities").then(setDescriptors, () => setDescriptors([]));
  }, []);
  useServerEvent<{ definitionId?: string }>("definition", (d) => {
    if (!d || typeof d !== "object" || !d.definitionId || d.definitionId === definitionId) void load();
  });

  const requested = Number(search.get("version")) || null;
  const selected = versions?.find((v) => v.version === requested) ?? versions?.[0] ?? null;
  const previous = selected && versions ? versions.find((v) => v.version < selected.version) ?? null : null;
  const current = useDefinition(definitionId, selected?.version ?? null);
  const before = useDefinition(definitionId, tab === "compare" ? previous?.version ?? null : null);

  const setParam = (k: string, v: string | null) =>
    setSearch(
      (s) => {
        const n = new URLSearchParams(s);
        if (v === null) n.delete(k);
        else n.set(k, v);
        return n;
      },
      { replace: true },
    );

  return (
    <div className="pl-page">
      <PageHeader
        title={
          <>
            <Link to="/pipelines" className="pl-crumb">
              Pipelines
            </Link>{" "}
            / <span className="mono">{definitionId}</span>
          </>
        }
        subtitle={versions?.[0]?.name ?? undefined}
        actions={
          selected && (
            <>
              <Link className="btn" to={`/designer/${encodeURIComponent(definitionId)}?version=${selected.version}`}>
                Open v{selected.version} in designer
              </Link>
              {/* The optional Elsa Studio add-on (docs/elsa-studio.md): Studio edits the latest version. */}
              <a className="btn" href={`/elsa-studio/?definition=${encodeURIComponent(definitionId)}`} target="_blank" rel="noopener"
                title="Elsa Studio opens the latest version; publishing there stores a new version">
                Open in Elsa Studio
              </a>
              {can("operator") && (
                <button className="btn btn-primary" onClick={() => setRunOpen(true)} disabled={!current.def}>
                  Run v{selected.version}
                </button>
              )}
            </>
          )
        }
      />
      <ErrorBanner error={error} onRetry={() => void load()} />
      {versions === null ? (
        !error && <Spinner label="Loading the versions…" />
      ) : versions.length === 0 ? (
        <Empty title="No versions">This definition has no stored version.</Empty>
      ) : (
        <div className="pl-versions">
          <nav className="pl-list card" aria-label="Versions">
            <h3>Versions</h3>
            <ul>
              {versions.map((v) => (
                <li key={v.version}>
                  <button
                    type="button"
                    className={v.version === selected?.version ? "active" : ""}
                    aria-current={v.version === selected?.version ? "true" : undefined}
                    onClick={() => setParam("version", String(v.version))}
                    data-testid={`version-${v.version}`}
                  >
                    <span className="pl-v">
                      v{v.version} {v.isLatest && <span className="badge badge-ok">latest</span>}
                    </span>
                    <span className="pl-meta">
                      {dateTime(v.createdAt)} · {v.createdBy}
                    </span>
                    <span className="pl-meta mono">{v.source}</span>
                  </button>
                </li>
              ))}
            </ul>
          </nav>
          <section className="pl-view card">
            <div className="tabs" role="tablist">
              {(
                [
                  ["graph", "Graph"],
                  ["json", "JSON"],
                  ["compare", previous ? `Compare with previous (v${previous.version})` : "Compare with previous"],
                ] as [Tab, string][]
              ).map(([t, label]) => (
                <button key={t} role="tab" aria-selected={tab === t} onClick={() => setParam("view", t === "graph" ? null : t)}>
                  {label}
                </button>
              ))}
            </div>
            <ErrorBanner error={current.error} />
            {!current.def ? (
              !current.error && <Spinner label={`Loading v${selected?.version}…`} />
            ) : tab === "graph" ? (
              <div className="pl-graph">
                <DefinitionGraph definition={current.def} descriptors={descriptors} />
              </div>
            ) : tab === "json" ? (
              <pre className="pl-json">{JSON.stringify(current.def, null, 2)}</pre>
            ) : !previous ? (
              <Empty title="The first version">v{selected?.version} has no previous version to compare with.</Empty>
            ) : before.error ? (
              <ErrorBanner error={before.error} />
            ) : !before.def ? (
              <Spinner label={`Loading v${previous.version}…`} />
            ) : (
              <Comparison before={before.def} after={current.def} beforeVersion={previous.version} afterVersion={selected!.version} />
            )}
          </section>
        </div>
      )}
      {selected && current.def && (
        <RunModal open={runOpen} definitionId={definitionId} version={selected.version} inputs={current.def.inputs} onClose={() => setRunOpen(false)} />
      )}
    </div>
  );
}

function Summary({ diff }: { diff: StructuralDiff }) {
  if (isEmptyDiff(diff)) return <div className="pl-summary muted">No structural change (only layout or formatting differs).</div>;
  const item = (label: string, values: string[], tone: string) =>
    values.length > 0 && (
      <div className={`pl-sum-row pl-${tone}`}>
        <span className="pl-sum-label">{label}</span>
        <span>
          {values.map((v) => (
            <code key={v}>{v}</code>
          ))}
        </span>
      </div>
    );
  return (
    <div className="pl-summary" data-testid="structural-summary">
      {item("Steps added", diff.stepsAdded, "add")}
      {item("Steps removed", diff.stepsRemoved, "del")}
      {item(
        "Steps changed",
        diff.stepsChanged.map((c) => `${c.id} (${c.fields.join(", ")})`),
        "chg",
      )}
      {item("Connections added", diff.connectionsAdded, "add")}
      {item("Connections removed", diff.connectionsRemoved, "del")}
      {item("Definition", diff.definitionChanged, "chg")}
    </div>
  );
}

function Comparison({ before, after, beforeVersion, afterVersion }: { before: WorkflowDefinition; after: WorkflowDefinition; beforeVersion: number; afterVersion: number }) {
  const { rows, summary, added, removed } = useMemo(() => {
    const strip = (d: WorkflowDefinition) => ({ ...d, version: undefined });
    const changes = diffLines(stableStringify(strip(before)) + "\n", stableStringify(strip(after)) + "\n");
    const rows = diffRows(changes);
    return {
      rows,
      summary: structuralDiff(before, after),
      added: rows.filter((r) => r.kind === "add").length,
      removed: rows.filter((r) => r.kind === "del").length,
    };
  }, [before, after]);
  return (
    <div>
      <Summary diff={summary} />
      <div className="pl-diff-head">
        <span>
          v{beforeVersion} → v{afterVersion} (keys sorted)
        </span>
        <span>
          <span className="pl-plus">+{added}</span> <span className="pl-minus">−{removed}</span>
        </span>
      </div>
      {added + removed === 0 ? (
        <Empty title="Identical">The two versions have the same content.</Empty>
      ) : (
        <div className="pl-diff mono" role="table" aria-label="Line diff">
          {rows.map((r, i) =>
            r.kind === "skip" ? (
              <div key={i} className="pl-row pl-skip" role="row">
                ⋯ {r.count} unchanged line{r.count === 1 ? "" : "s"}
              </div>
            ) : (
              <div key={i} className={`pl-row pl-${r.kind}`} role="row">
                <span className="pl-no">{r.oldNo ?? ""}</span>
                <span className="pl-no">{r.newNo ?? ""}</span>
                <span className="pl-sign">{r.kind === "add" ? "+" : r.kind === "del" ? "−" : " "}</span>
                <span className="pl-text">{r.text}</span>
              </div>
            ),
          )}
        </div>
      )}
    </div>
  );
}
