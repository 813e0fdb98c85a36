// Operator actions on one service (list rows and the detail header): scale, undeploy, redeploy.
import { useState } from "react";
import { api, ApiError, asApiError } from "../../api/client";
import type { DeployAccepted, ServiceSummary } from "../../api/types";
import { useAuth } from "../../auth";
import { Confirm, ErrorBanner, Modal } from "../../ui/kit";
import { actionsFor } from "./serviceList";


export function ServiceActions({
  service,
  small,
  onChanged,
}: {
  service: ServiceSummary;
  small?: boolean;
  /** Called with the server's new summary (scale, undeploy) or nothing (redeploy). */
  onChanged?: (summary?: ServiceSummary) => void;
}) {
  const { can } = useAuth();
  const [dialog, setDialog] = useState<"scale" | "undeploy" | "redeploy" | null>(null);
  const [replicas, setReplicas] = useState(String(service.replicas));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  if (!can("operator")) return null;

  const allowed = actionsFor(service.state);
  const cls = `btn${small ? " btn-small" : ""}`;
  const open = (d: typeof dialog) => {
    setError(null);
    setReplicas(String(service.replicas));
    setDialog(d);
  };
  const close = () => {
    if (!busy) setDialog(null);
  };
  const run = async (action: () => Promise<ServiceSummary | undefined>) => {
    setBusy(true);
    setError(null);
    try {
      const summary = await action();
      setDialog(null);
      onChanged?.(summary);
    } catch (e) {
      setError(asApiError(e));
    } finally {
      setBusy(false);
    }
  };
  const base = `/api/v1/modserv/${encodeURIComponent(service.serviceId)}`;
  const replicaError = error?.forField("replicaCount");

  return (
    <span className="btn-group">
      {allowed.scale && (
        <button className={cls} onClick={() => open("scale")} data-testid="action-scale">
          Scale
        </button>
      )}
      {allowed.redeploy && (
        <button className={cls} onClick={() => open("redeploy")} data-testid="action-redeploy">
          Redeploy
        </button>
      )}
      {allowed.undeploy && (
        <button className={`${cls} btn-danger-outline`} onClick={() => open("undeploy")} data-testid="action-undeploy">
          Undeploy
        </button>
      )}

      <Modal
        title={`Scale ${service.modelName}`}
        open={dialog === "scale"}
        onClose={close}
        footer={
          <>
            <button className="btn" onClick={close} disabled={busy}>
              Cancel
            </button>
            <button
              className="btn btn-primary"
              disabled={busy || replicas.trim() === ""}
              onClick={() =>
                void run(() => api<ServiceSummary>(`${base}/scale`, { method: "POST", body: { replicaCount: Number(replicas) } }))
              }
            >
              {busy ? "Scaling…" : "Scale"}
            </button>
          </>
        }
      >
        <form
          className="field"
          onSubmit={(e) => {
            e.preventDefault();
            void run(() => api<ServiceSummary>(`${base}/scale`, { method: "POST", body: { replicaCount: Number(replicas) } }));
          }}
        >
          <label className="label" htmlFor={`replicas-${service.serviceId}`}>
            Replicas
          </label>
          <input
            id={`replicas-${service.serviceId}`}
            type="number"
            min={0}
            step={1}
            value={replicas}
            autoFocus
            onChange={(e) => setReplicas(e.target.value)}
            aria-invalid={replicaError ? true : undefined}
          />
          <span className="help">Currently {service.replicas}.</span>
          {replicaError && <span className="field-error">{replicaError}</span>}
        </form>
        {error && !replicaError && <ErrorBanner error={error} />}
        {error && replicaError && error.message !== replicaError && <ErrorBanner error={error.message} />}
      </Modal>

      <Confirm
        open={dialog === "undeploy"}
        title={`Undeploy ${service.modelName}?`}
        message={
          <>
            This cancels a running pipeline and removes <code>{service.serviceId}</code>'s resources. The service ends in
            Stopped; you can redeploy it later.
          </>
        }
        confirmLabel="Undeploy"
        danger
        busy={busy}
        error={error}
        onCancel={close}
        onConfirm={() => void run(() => api<ServiceSummary>(base, { method: "DELETE" }))}
      />

      <Confirm
        open={dialog === "redeploy"}
        title={`Redeploy ${service.modelName}?`}
        message="Runs the pipeline again with the stored request."
        confirmLabel="Redeploy"
        busy={busy}
        error={error}
        onCancel={close}
        onConfirm={() =>
          void run(async () => {
            await api<DeployAccepted>(`${base}/redeploy`, { method: "POST" });
            return undefined;
          })
        }
      />
    </span>
  );
}
