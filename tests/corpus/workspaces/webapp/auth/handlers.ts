// HTTP handlers for login, logout and token refresh.
//
// Passwords are checked with scrypt against the stored hash; sessions are
// opaque random ids kept server-side; the refresh token is rotated on use.

import { randomBytes, scrypt as scryptCb, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import type { Request, Response } from "../src/http";
import { SessionStore } from "./session";

// notes: 0

const scrypt = promisify(scryptCb) as (pw: string, salt: Buffer, len: number) => Promise<Buffer>;

export interface UserRecord {
  id: string;
  email: string;
  passwordHash: string; // "scrypt$<salt hex>$<hash hex>"
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, saltHex, hashHex] = stored.split("$");
  if (scheme !== "scrypt" || !saltHex || !hashHex) return false;
  const expected = Buffer.from(hashHex, "hex");
  const actual = await scrypt(password, Buffer.from(saltHex, "hex"), expected.length);
  return timingSafeEqual(actual, expected);
}

export function newSessionId(): string {
  return randomBytes(32).toString("base64url");
}

export function makeHandlers(users: Map<string, UserRecord>, sessions: SessionStore) {
  return {
    async login(req: Request, res: Response) {
      const { email, password } = req.body as { email?: string; password?: string };
      if (!email || !password) return res.status(400).json({ error: "email and password are required" });
      const user = users.get(email.toLowerCase());
      if (!user || !(await verifyPassword(password, user.passwordHash))) {
        return res.status(401).json({ error: "invalid email or password" });
      }
      const sid = newSessionId();
      sessions.put(sid, user.id);
      res.cookie("sid", sid, { httpOnly: true, secure: true, sameSite: "lax" });
      return res.status(204).end();
    },

    async logout(req: Request, res: Response) {
      const sid = req.cookies["sid"];
      if (sid) sessions.delete(sid);
      res.clearCookie("sid");
      return res.status(204).end();
    },

    async refresh(req: Request, res: Response) {
      const token = req.headers["authorization"]?.replace(/^Bearer /, "");
      if (!token) return res.status(401).json({ error: "missing refresh token" });
      const rotated = sessions.rotateRefreshToken(token);
      if (!rotated) return res.status(401).json({ error: "refresh token reused or expired" });
      return res.json({ refresh_token: rotated });
    },
  };
}
