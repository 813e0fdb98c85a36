// Who is signed in, and what their role allows. GET /api/v1/me answers with the caller's name and
// roles; a 401 means the server requires an API key, so the sign-in screen is shown.
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from "react";
import { api, ApiError, onAuthFailure, setApiKey, asApiError } from "./api/client";
import { restartShared } from "./api/events";
import type { Me } from "./api/types";

export type Role = "viewer" | "operator" | "admin" | "approver";

interface AuthState {
  me: Me | null;
  loading: boolean;
  error: ApiError | null;
  /** True when the caller holds `role` (roles are cumulative: an admin is also an operator). */
  can: (role: Role) => boolean;
  signIn: (key: string, remember: boolean) => Promise<void>;
  signOut: () => void;
  reload: () => Promise<void>;
}

const AuthContext = createContext<AuthState | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<Me | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<ApiError | null>(null);

  const reload = useCallback(async () => {
    setLoading(true);
    try {
      setMe(await api<Me>("/api/v1/me"));
      setError(null);
    } catch (e) {
      setMe(null);
      setError(asApiError(e));
    } finally {
      setLoading(false);
    }
  }, []);

  useEffect(() => {
    void reload();
    return onAuthFailure(() => setMe(null));
  }, [reload]);

  const signIn = useCallback(async (key: string, remember: boolean) => {
    setApiKey(key, remember);
    try {
      const who = await api<Me>("/api/v1/me");
      setMe(who);
      setError(null);
      restartShared();
    } catch (e) {
      setApiKey(null);
      throw e;
    }
  }, []);

  const signOut = useCallback(() => {
    setApiKey(null);
    setMe(null);
    restartShared();
    void reload();
  }, [reload]);

  const can = useCallback((role: Role) => !!me?.roles.includes(role), [me]);

  return <AuthContext.Provider value={{ me, loading, error, can, signIn, signOut, reload }}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthState {
  const state = useContext(AuthContext);
  if (!state) throw new Error("useAuth outside AuthProvider");
  return state;
}
