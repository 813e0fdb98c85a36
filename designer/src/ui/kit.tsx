// Shared presentational pieces: badges, banners, empty/loading states, the confirm dialog.
import { useEffect, useRef, type ReactNode } from "react";
import type { ApiError } from "../api/client";

const STATE_TONES: Record<string, string> = {
  Running: "ok",
  Succeeded: "ok",
  Completed: "ok",
  Degraded: "warn",
  Retrying: "warn",
  AwaitingApproval: "warn",
  Suspended: "warn",
  Failed: "bad",
  Faulted: "bad",
  Cancelled: "muted",
  Stopped: "muted",
  Skipped: "muted",
  Pending: "muted",
  Stopping: "busy",
  Scaling: "busy",
  Initializing: "busy",
  PipelineRunning: "busy",
  Deploying: "busy",
  HealthChecking: "busy",
};

/** A colored pill for a service state, step status or instance status. */
export function Badge({ value, title }: { value: string; title?: string }) {
  const tone = STATE_TONES[value] ?? "muted";
  return (
    <span className={`badge badge-${tone}`} title={title} data-state={value}>
      {tone === "busy" && <span className="dot-pulse" aria-hidden />}
      {value}
    </span>
  );
}

export function Spinner({ label = "Loading…" }: { label?: string }) {
  return (
    <div className="state-box" role="status" aria-live="polite">
      <span className="spinner" aria-hidden /> {label}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state-box empty">
      <div className="empty-title">{title}</div>
      {children && <div className="empty-body">{children}</div>}
    </div>
  );
}

export function ErrorBanner({ error, onRetry }: { error: ApiError | Error | string | null | undefined; onRetry?: () => void }) {
  if (!error) return null;
  const message = typeof error === "string" ? error : error.message;
  return (
    <div className="banner banner-error" role="alert">
      <span>{message}</span>
      {onRetry && (
        <button className="btn btn-small" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}

export function PageHeader({ title, subtitle, actions }: { title: ReactNode; subtitle?: ReactNode; actions?: ReactNode }) {
  return (
    <header className="page-header">
      <div>
        <h1>{title}</h1>
        {subtitle && <div className="subtitle">{subtitle}</div>}
      </div>
      {actions && <div className="actions">{actions}</div>}
    </header>
  );
}

/** A modal dialog (native <dialog>) for confirmations and small forms. */
export function Modal({
  title,
  open,
  onClose,
  children,
  footer,
}: {
  title: string;
  open: boolean;
  onClose: () => void;
  children: ReactNode;
  footer?: ReactNode;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal?.();
    if (!open && d.open) d.close?.();
  }, [open]);
  return (
    <dialog ref={ref} className="modal" onClose={onClose} onCancel={onClose} aria-label={title}>
      {open && (
        <>
          <h2>{title}</h2>
          <div className="modal-body">{children}</div>
          {footer && <div className="modal-footer">{footer}</div>}
        </>
      )}
    </dialog>
  );
}

/** "Are you sure?" with a named action; `busy` disables it while the request runs. */
export function Confirm({
  open,
  title,
  message,
  confirmLabel,
  danger,
  busy,
  error,
  onConfirm,
  onCancel,
}: {
  open: boolean;
  title: string;
  message: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  busy?: boolean;
  error?: ApiError | Error | null;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  return (
    <Modal
      title={title}
      open={open}
      onClose={onCancel}
      footer={
        <>
          <button className="btn" onClick={onCancel} disabled={busy}>
            Cancel
          </button>
          <button className={`btn ${danger ? "btn-danger" : "btn-primary"}`} onClick={onConfirm} disabled={busy}>
            {busy ? "Working…" : confirmLabel}
          </button>
        </>
      }
    >
      <div>{message}</div>
      <ErrorBanner error={error} />
    </Modal>
  );
}
