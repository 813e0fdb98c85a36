// /pipelines: the latest version of every workflow definition, refreshed live on `definition` events.
import { useCallback, useEffect, useState } from "react";
import { Link } from "react-router";
import { api, ApiError, asApiError } from "../../api/client";
import { RESYNC, useServerEvent } from "../../api/events";
import type { DefinitionSummary } from "../../api/types";
import { useAuth } from "../../auth";
import { age, dateTime } from "../../ui/format";
import { Empty, ErrorBanner, PageHeader, Spinner } from "../../ui/kit";
import "./pipelines.css";

export default function PipelinesPage() {
  const { can } = useAuth();
  const [items, setItems] = useState<DefinitionSummary[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  const load = useCallback(async () => {
    try {
      const list = await api<DefinitionSummary[]>("/api/v1/workflow-definitions");
      setItems([...list].sort((a, b) => a.definitionId.localeCompare(b.definitionId)));
      setError(null);
    } catch (e) {
      setError(asApiError(e));
    }
  }, []);

  useEffect(() => void load(), [load]);
  useServerEvent("definition", () => void load());
  useServerEvent(RESYNC, () => void load());

  return (
    <div className="pl-page">
      <PageHeader
        title="Pipelines"
        subtitle="Workflow definitions: each save is a new version; services run the latest."
        actions={
          can("operator") && (
            <Link className="btn btn-primary" to="/designer">
              New pipeline
            </Link>
          )
        }
      />
      <ErrorBanner error={error} onRetry={() => void load()} />
      {items === null ? (
        !error && <Spinner label="Loading the pipelines…" />
      ) : items.length === 0 ? (
        <Empty title="No pipelines yet">
          {can("operator") ? (
            <>
              <Link to="/designer">Design one</Link>, or put a definition file in the server's workflows folder.
            </>
          ) : (
            "An operator can design one, or put a definition file in the server's workflows folder."
          )}
        </Empty>
      ) : (
        <table className="table" data-testid="pipelines-table">
          <thead>
            <tr>
              <th>Id</th>
              <th>Name</th>
              <th className="num">Latest</th>
              <th>Source</th>
              <th>Created by</th>
              <th>Created</th>
              <th aria-label="Actions" />
            </tr>
          </thead>
          <tbody>
            {items.map((d) => (
              <tr key={d.definitionId} data-testid={`pipeline-${d.definitionId}`}>
                <td>
                  <Link className="mono" to={`/pipelines/${encodeURIComponent(d.definitionId)}`}>
                    {d.definitionId}
                  </Link>
                </td>
                <td>
                  <div>{d.name || <span className="muted">—</span>}</div>
                  {d.description && <div className="pl-desc" title={d.description}>{d.description}</div>}
                </td>
                <td className="num">v{d.version}</td>
                <td>
                  <span className="pl-source mono">{d.source}</span>
                </td>
                <td>{d.createdBy}</td>
                <td title={dateTime(d.createdAt)}>{age(d.createdAt)} ago</td>
                <td className="pl-actions">
                  <Link className="btn btn-small" to={`/designer/${encodeURIComponent(d.definitionId)}`}>
                    {can("operator") ? "Edit" : "View"} in designer
                  </Link>
                  <Link className="btn btn-small btn-ghost" to={`/pipelines/${encodeURIComponent(d.definitionId)}`}>
                    Versions
                  </Link>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
