// Minimal request/response types so the handlers do not depend on a framework.

// notes: 0

export interface Request {
  body: unknown;
  cookies: Record<string, string>;
  headers: Record<string, string | undefined>;
}

export interface Response {
  status(code: number): Response;
  json(body: unknown): Response;
  cookie(name: string, value: string, opts: Record<string, unknown>): Response;
  clearCookie(name: string): Response;
  end(): Response;
}
