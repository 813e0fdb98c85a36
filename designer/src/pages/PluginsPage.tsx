// Plugins: the shimlets (built in and hot-loaded), the pipelines, the plugin assemblies; admins load
// a plugin from the server's plugins directory without a restart (POST /api/v1/plugins/load).
import { useCallback, useEffect, useState, type FormEvent } from "react";
import { Link } from "react-router";
import { api, ApiError } from "../api/client";
import { RESYNC, useServerEvent } from "../api/events";
import type { PluginInfo, PluginsView } from "../api/types";
import { useAuth } from "../auth";
import { dateTime, shortType } from "../ui/format";
import { Empty, ErrorBanner, PageHeader, Spinner } from "../ui/kit";

export default function PluginsPage() {
  const { can } = useAuth();
  const [view, setView] = useState<PluginsView | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  const load = useCallback(async () => {
    try {
      setView(await api<PluginsView>("/api/v1/plugins"));
      setError(null);
    } catch (e) {
      setError(e as ApiError);
    }
  }, []);

  useEffect(() => {
    void load();
  }, [load]);
  // A pipeline saved or reloaded elsewhere shows up here without a refresh.
  useServerEvent("definition", () => void load());
  useServerEvent(RESYNC, () => void load());

  return (
    <div>
      <PageHeader title="Plugins" subtitle="Environment adapters (shimlets), pipelines and hot-loaded plugin assemblies." />
      {can("admin") && <LoadPlugin onLoaded={() => void load()} />}
      <ErrorBanner error={error} onRetry={() => void load()} />
      {!view && !error && <Spinner />}
      {view && (
        <>
          <section className="card" aria-labelledby="shimlets-h">
            <h2 id="shimlets-h">Shimlets</h2>
            {view.shimlets.length === 0 ? (
              <Empty title="No shimlets registered" />
            ) : (
              <table className="table" data-testid="shimlets-table">
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Source</th>
                    <th>Version</th>
                    <th>Loaded</th>
                  </tr>
                </thead>
                <tbody>
                  {view.shimlets.map((s) => (
                    <tr key={s.name}>
                      <td className="mono">{s.name}</td>
                      <td>{s.source === "builtin" ? <span className="badge badge-muted">built in</span> : <span className="badge badge-busy">{s.source}</span>}</td>
                      <td className="mono muted">{s.version.split("+")[0]}</td>
                      <td>{dateTime(s.loadedAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
          <section className="card" aria-labelledby="pipelines-h">
            <h2 id="pipelines-h">Pipelines</h2>
            {view.pipelines.length === 0 ? (
              <Empty title="No pipelines">
                Put workflow definitions in the server's <code>workflows/</code> folder, or <Link to="/designer">design one</Link>.
              </Empty>
            ) : (
              <table className="table">
                <thead>
                  <tr>
                    <th>Name</th>
                    <th className="num">Latest version</th>
                    <th>Source</th>
                    <th>Since</th>
                  </tr>
                </thead>
                <tbody>
                  {view.pipelines.map((p) => (
                    <tr key={p.name}>
                      <td>
                        <Link to={`/pipelines/${encodeURIComponent(p.name)}`} className="mono">
                          {p.name}
                        </Link>
                      </td>
                      <td className="num">v{p.version}</td>
                      <td className="mono muted">{p.source}</td>
                      <td>{dateTime(p.loadedAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
          <section className="card" aria-labelledby="assemblies-h">
            <h2 id="assemblies-h">Plugin assemblies</h2>
            {view.plugins.length === 0 ? (
              <Empty title="No plugins loaded">
                Plugins are loaded on request from the server's plugins directory (<code>Plugins:Directory</code>).
                {can("admin") ? " Load one above." : " An admin can load one."}
              </Empty>
            ) : (
              <table className="table" data-testid="plugins-table">
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Version</th>
                    <th>Provides</th>
                    <th>Loaded</th>
                  </tr>
                </thead>
                <tbody>
                  {view.plugins.map((p) => (
                    <PluginRow key={p.name} plugin={p} />
                  ))}
                </tbody>
              </table>
            )}
          </section>
        </>
      )}
    </div>
  );
}

function PluginRow({ plugin }: { plugin: PluginInfo }) {
  return (
    <tr>
      <td>
        <div className="mono">{plugin.name}</div>
        <div className="muted mono" style={{ fontSize: 12 }} title={plugin.path}>
          {plugin.path}
        </div>
      </td>
      <td className="mono muted">{plugin.version.split("+")[0]}</td>
      <td>
        {plugin.shimlets.map((s) => (
          <span key={s} className="badge badge-busy" style={{ marginRight: 4 }}>
            shimlet {s}
          </span>
        ))}
        {plugin.activityTypes.map((t) => (
          <span key={t} className="badge badge-muted" style={{ marginRight: 4 }} title={t}>
            {shortType(t)}
          </span>
        ))}
        {plugin.shimlets.length + plugin.activityTypes.length === 0 && <span className="muted">–</span>}
      </td>
      <td>{dateTime(plugin.loadedAt)}</td>
    </tr>
  );
}

function LoadPlugin({ onLoaded }: { onLoaded: () => void }) {
  const [name, setName] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [loaded, setLoaded] = useState<PluginInfo | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setLoaded(null);
    if (!name.trim()) {
      setError(new ApiError(400, "Enter the plugin's folder name.", [{ field: "name", message: "Enter the plugin's folder name." }]));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      setLoaded(await api<PluginInfo>("/api/v1/plugins/load", { method: "POST", body: { name: name.trim() } }));
      onLoaded();
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setBusy(false);
    }
  };

  const fieldError = error?.forField("name");
  return (
    <form className="card" onSubmit={submit} aria-label="Load a plugin">
      <h2>Load a plugin</h2>
      <div style={{ display: "flex", gap: 10, alignItems: "flex-start", flexWrap: "wrap" }}>
        <label className="field" style={{ flex: "1 1 280px" }}>
          <span className="label">Plugin name</span>
          <input
            value={name}
            onChange={(e) => setName(e.target.value)}
            placeholder="ModelServeShim.Shimlets.Docker"
            aria-invalid={!!fieldError}
            className="mono"
          />
          <span className="help">
            The folder <code>&lt;Plugins:Directory&gt;/&lt;name&gt;/</code> holding <code>&lt;name&gt;.dll</code>. Loading it again replaces the loaded version.
          </span>
          {fieldError && <span className="field-error">{fieldError}</span>}
        </label>
        <button className="btn btn-primary" type="submit" disabled={busy} style={{ marginTop: 22 }}>
          {busy ? "Loading…" : "Load"}
        </button>
      </div>
      {error && !fieldError && <ErrorBanner error={error} />}
      {loaded && (
        <div className="banner banner-info" role="status">
          Loaded {loaded.name} {loaded.version.split("+")[0]}
          {loaded.shimlets.length > 0 && ` — shimlets: ${loaded.shimlets.join(", ")}`}
        </div>
      )}
    </form>
  );
}
