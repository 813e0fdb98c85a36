import { NavLink, Navigate, Route, Routes } from "react-router";
import { useStreamStatus } from "./api/events";
import { useAuth } from "./auth";
import { Spinner, ErrorBanner } from "./ui/kit";
import { SignIn } from "./pages/SignIn";
import ServicesPage from "./pages/services/ServicesPage";
import DeployPage from "./pages/services/DeployPage";
import ServiceDetailPage from "./pages/services/ServiceDetailPage";
import PipelinesPage from "./pages/pipelines/PipelinesPage";
import PipelineVersionsPage from "./pages/pipelines/PipelineVersionsPage";
import DesignerPage from "./pages/designer/DesignerPage";
import InstancePage from "./pages/pipelines/InstancePage";
import PluginsPage from "./pages/PluginsPage";

function LiveIndicator() {
  const status = useStreamStatus();
  const label = status === "live" ? "Live" : status === "closed" ? "Offline" : "Reconnecting…";
  return (
    <span className={`live live-${status}`} title="Server-sent events: state changes and logs arrive as they happen" data-testid="live-status">
      <span className="live-dot" aria-hidden /> {label}
    </span>
  );
}

export function App() {
  const { me, loading, error, signOut, reload } = useAuth();

  if (loading && !me) return <Spinner label="Connecting to the server…" />;
  if (!me) {
    if (error && error.status !== 401) {
      return (
        <div className="center-page">
          <h1 className="brand-large">ModelServeShim</h1>
          <ErrorBanner error={error} onRetry={() => void reload()} />
        </div>
      );
    }
    return <SignIn />;
  }

  return (
    <div className="shell">
      <nav className="sidebar" aria-label="Main">
        <div className="brand">
          <img src="/favicon.svg" alt="" width={22} height={22} /> ModelServeShim
        </div>
        <NavLink to="/services">Services</NavLink>
        <NavLink to="/pipelines">Pipelines</NavLink>
        <NavLink to="/designer">Designer</NavLink>
        <NavLink to="/plugins">Plugins</NavLink>
        <div className="sidebar-foot">
          <LiveIndicator />
          <div className="whoami" data-testid="whoami">
            <span className="who-name">{me.name}</span>
            <span className="who-role">{me.roles.includes("admin") ? "admin" : me.roles.includes("operator") ? "operator" : "viewer"}</span>
          </div>
          {me.authRequired && (
            <button className="btn btn-small btn-ghost" onClick={signOut}>
              Sign out
            </button>
          )}
        </div>
      </nav>
      <main className="content">
        <Routes>
          <Route path="/" element={<Navigate to="/services" replace />} />
          <Route path="/services" element={<ServicesPage />} />
          <Route path="/services/new" element={<DeployPage />} />
          <Route path="/services/:serviceId" element={<ServiceDetailPage />} />
          <Route path="/pipelines" element={<PipelinesPage />} />
          <Route path="/pipelines/:definitionId" element={<PipelineVersionsPage />} />
          <Route path="/instances/:instanceId" element={<InstancePage />} />
          <Route path="/designer" element={<DesignerPage />} />
          <Route path="/designer/:definitionId" element={<DesignerPage />} />
          <Route path="/plugins" element={<PluginsPage />} />
          <Route path="*" element={<NotFound />} />
        </Routes>
      </main>
    </div>
  );
}

function NotFound() {
  return (
    <div className="state-box empty">
      <div className="empty-title">No such page</div>
      <div className="empty-body">
        <NavLink to="/services">Go to the services</NavLink>
      </div>
    </div>
  );
}
