// /services: every model service, live (service events update rows in place; new ones appear on top).
import { useCallback, useEffect, useMemo, useState } from "react";
import { Link } from "react-router";
import { api, ApiError, asApiError } from "../../api/client";
import { RESYNC, useServerEvent } from "../../api/events";
import type { ServiceSummary } from "../../api/types";
import { useAuth } from "../../auth";
import { age } from "../../ui/format";
import { Badge, Empty, ErrorBanner, PageHeader, Spinner } from "../../ui/kit";
import { ServiceActions } from "./ServiceActions";
import { accelerators, applyServiceEvent, filterServices, pendingApprovals, SERVICE_STATES } from "./serviceList";
import "./services.css";

export default function ServicesPage() {
  const { can } = useAuth();
  const [services, setServices] = useState<ServiceSummary[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [text, setText] = useState("");
  const [state, setState] = useState("");
  const [, setTick] = useState(0);

  const load = useCallback(async () => {
    setError(null);
    try {
      setServices(await api<ServiceSummary[]>("/api/v1/modserv"));
    } catch (e) {
      setError(asApiError(e));
    }
  }, []);

  useEffect(() => {
    void load();
  }, [load]);

  // Re-render the age column once a minute (no request is made).
  useEffect(() => {
    const t = setInterval(() => setTick((n) => n + 1), 60_000);
    return () => clearInterval(t);
  }, []);

  useServerEvent<ServiceSummary>("service", (s) => {
    if (s && typeof s === "object" && s.serviceId) setServices((list) => (list ? applyServiceEvent(list, s) : list));
  });
  useServerEvent(RESYNC, () => void load());

  const shown = useMemo(() => (services ? filterServices(services, text, state) : []), [services, text, state]);
  const pending = services ? pendingApprovals(services) : 0;
  const deployButton = can("operator") && (
    <Link className="btn btn-primary" to="/services/new" data-testid="deploy-link">
      Deploy model
    </Link>
  );

  return (
    <div>
      <PageHeader
        title={
          <span className="detail-head">
            Services
            {pending > 0 && (
              <button
                className="badge badge-warn approvals-badge"
                data-testid="pending-approvals"
                title="Show the services waiting for approval"
                onClick={() => setState("AwaitingApproval")}
              >
                {pending} pending {pending === 1 ? "approval" : "approvals"}
              </button>
            )}
          </span>
        }
        subtitle="Models deployed through a pipeline onto a shimlet."
        actions={deployButton}
      />
      {error && <ErrorBanner error={error} onRetry={() => void load()} />}
      {!services && !error && <Spinner label="Loading services…" />}
      {services && services.length === 0 && (
        <div className="card">
          <Empty title="No services yet">
            {can("operator") ? (
              <>
                Deploy a model to get an OpenAI-compatible endpoint.
                <div style={{ marginTop: 12 }}>{deployButton}</div>
              </>
            ) : (
              "An operator can deploy a model; it will appear here as soon as it starts."
            )}
          </Empty>
        </div>
      )}
      {services && services.length > 0 && (
        <>
          <div className="list-toolbar">
            <input type="search" aria-label="Filter services" placeholder="Filter by name, model, shimlet…" value={text} onChange={(e) => setText(e.target.value)} />
            <select aria-label="State" value={state} onChange={(e) => setState(e.target.value)}>
              <option value="">All states</option>
              {SERVICE_STATES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
            <span className="count">
              {shown.length === services.length ? `${services.length} ${services.length === 1 ? "service" : "services"}` : `${shown.length} of ${services.length}`}
            </span>
          </div>
          <table className="table" data-testid="services-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Model</th>
                <th>State</th>
                <th>Shimlet</th>
                <th className="num">Replicas</th>
                <th>Accelerators</th>
                <th>Age</th>
                {can("operator") && <th aria-label="Actions" />}
              </tr>
            </thead>
            <tbody>
              {shown.map((s) => (
                <tr key={s.serviceId} data-testid="service-row" data-service-id={s.serviceId} data-state={s.state}>
                  <td>
                    <Link to={`/services/${encodeURIComponent(s.serviceId)}`} className="svc-name">
                      {s.serviceId}
                    </Link>
                  </td>
                  <td>{s.modelName}</td>
                  <td>
                    <Badge value={s.state} />
                  </td>
                  <td>{s.shimlet}</td>
                  <td className="num">{s.replicas}</td>
                  <td>{accelerators(s)}</td>
                  <td title={s.createdAt}>{age(s.createdAt)}</td>
                  {can("operator") && (
                    <td className="actions-cell">
                      <ServiceActions service={s} small onChanged={(u) => u && setServices((l) => (l ? applyServiceEvent(l, u) : l))} />
                    </td>
                  )}
                </tr>
              ))}
              {shown.length === 0 && (
                <tr>
                  <td colSpan={8} className="muted" style={{ textAlign: "center", padding: 24 }}>
                    No service matches the filter.{" "}
                    <button className="btn btn-small btn-ghost" onClick={() => (setText(""), setState(""))}>
                      Clear filters
                    </button>
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}
