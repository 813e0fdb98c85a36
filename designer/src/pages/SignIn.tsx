import { useState, type FormEvent } from "react";
import { ApiError } from "../api/client";
import { useAuth } from "../auth";

/** Shown when the server requires an API key (it answered 401 to /api/v1/me). */
export function SignIn() {
  const { signIn } = useAuth();
  const [key, setKey] = useState("");
  const [remember, setRemember] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!key.trim()) {
      setError("Enter an API key.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await signIn(key.trim(), remember);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? "The server does not accept this key." : (err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="center-page">
      <form className="card signin" onSubmit={submit} aria-label="Sign in">
        <h1 className="brand-large">
          <img src="/favicon.svg" alt="" width={28} height={28} /> ModelServeShim
        </h1>
        <p className="muted">This server requires an API key. Your administrator creates keys with <code>model-serve-shim keys hash</code>.</p>
        <label className="field">
          <span className="label">API key</span>
          <input
            type="password"
            autoComplete="current-password"
            value={key}
            onChange={(e) => setKey(e.target.value)}
            aria-invalid={!!error}
            aria-describedby={error ? "signin-error" : undefined}
            autoFocus
          />
          {error && (
            <span className="field-error" id="signin-error" role="alert">
              {error}
            </span>
          )}
        </label>
        <label className="check">
          <input type="checkbox" checked={remember} onChange={(e) => setRemember(e.target.checked)} /> Remember on this browser
        </label>
        <button className="btn btn-primary" type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </div>
  );
}
