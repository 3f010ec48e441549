import { useCallback, useState } from "react";
import { api, ApiError } from "../api/client";
import { clearAccessToken, setAccessToken, type TokenResponse } from "./tokenStore";

// notes: 0

export function useAuth() {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const login = useCallback(async (email: string, password: string) => {
    setBusy(true);
    setError(null);
    try {
      const res = await api<TokenResponse>("/auth/login", {
        method: "POST",
        body: JSON.stringify({ email, password }),
      });
      setAccessToken(res);
      return true;
    } catch (e) {
      // The server answers 401 with code errors.invalidCredentials and 429
      // with errors.accountLocked; the form translates the code.
      setError(e instanceof ApiError ? e.code : "errors.network");
      return false;
    } finally {
      setBusy(false);
    }
  }, []);

  const logout = useCallback(async () => {
    await api("/auth/logout", { method: "POST" }).catch(() => undefined);
    clearAccessToken();
  }, []);

  return { login, logout, error, busy };
}
