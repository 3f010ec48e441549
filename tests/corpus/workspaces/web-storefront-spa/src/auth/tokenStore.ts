// The access token lives in this module's memory only: not in localStorage,
// not in sessionStorage, not in a cookie the script can read. A reload loses
// it; refresh() gets a new one from the HttpOnly refresh cookie.

// notes: 0

export interface TokenResponse {
  access_token: string;
  token_type: "Bearer";
  expires_in: number;
}

let accessToken: string | null = null;
let expiresAt = 0;

/** Refresh this many milliseconds before the token expires. */
const SKEW_MS = 30_000;

export function setAccessToken(res: TokenResponse, now = Date.now()): void {
  accessToken = res.access_token;
  expiresAt = now + res.expires_in * 1000;
}

export function clearAccessToken(): void {
  accessToken = null;
  expiresAt = 0;
}

export function currentAccessToken(now = Date.now()): string | null {
  if (accessToken === null || now >= expiresAt - SKEW_MS) return null;
  return accessToken;
}

export async function refresh(baseUrl: string): Promise<string | null> {
  const res = await fetch(`${baseUrl}/auth/refresh`, {
    method: "POST",
    credentials: "include",
  });
  if (!res.ok) {
    clearAccessToken();
    return null;
  }
  setAccessToken((await res.json()) as TokenResponse);
  return accessToken;
}
