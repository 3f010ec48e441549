import { randomBytes } from "node:crypto";

// notes: 0

export class SessionStore {
  private sessions = new Map<string, { userId: string; created: number }>();
  private refresh = new Map<string, string>();

  put(sid: string, userId: string) {
    this.sessions.set(sid, { userId, created: Date.now() });
  }

  delete(sid: string) {
    this.sessions.delete(sid);
  }

  userFor(sid: string): string | undefined {
    return this.sessions.get(sid)?.userId;
  }

  rotateRefreshToken(old: string): string | undefined {
    const userId = this.refresh.get(old);
    if (!userId) return undefined;
    this.refresh.delete(old);
    const next = randomBytes(24).toString("base64url");
    this.refresh.set(next, userId);
    return next;
  }
}
