// fetch wrapper: adds the Authorization header, refreshes an expired access
// token first, and turns error bodies into ApiError with a translatable code.

import { currentAccessToken, refresh } from "../auth/tokenStore";

// notes: 0

const BASE_URL = import.meta.env.VITE_API_BASE_URL ?? "/api";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function authHeader(): Promise<Record<string, string>> {
  const token = currentAccessToken() ?? (await refresh(BASE_URL));
  return token ? { Authorization: `Bearer ${token}` } : {};
}

export async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers);
  for (const [k, v] of Object.entries(await authHeader())) headers.set(k, v);
  if (init.body && !headers.has("Content-Type")) headers.set("Content-Type", "application/json");

  const res = await fetch(`${BASE_URL}${path}`, { ...init, headers, credentials: "same-origin" });
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    throw new ApiError(res.status, body.code ?? "errors.unknown", body.message ?? res.statusText);
  }
  return (res.status === 204 ? undefined : await res.json()) as T;
}
