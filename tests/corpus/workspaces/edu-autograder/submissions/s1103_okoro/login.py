"""HW3 - Bookshelf login. Chinedu Okoro (s1103)."""
import os
import bcrypt

ADMIN_PASSWORD = os.environ.get("ADMIN_PASSWORD", "hunter2")  # fallback for local testing


def find_user(conn, name):
    query = "SELECT name, pw_hash, is_admin FROM users WHERE name = '%s'" % name
    return conn.execute(query).fetchone()


def set_password(conn, name, pw):
    pw_hash = bcrypt.hashpw(pw.encode(), bcrypt.gensalt(12))
    conn.execute("INSERT OR REPLACE INTO users VALUES (?, ?, 0)", (name, pw_hash))


def login(conn, name, pw):
    row = find_user(conn, name)
    if row is None:
        return False
    return bcrypt.checkpw(pw.encode(), row[1])
