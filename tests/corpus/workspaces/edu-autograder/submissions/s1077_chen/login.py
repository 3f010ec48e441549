"""HW3 - Bookshelf login. Submitted by Mei Chen (s1077).

Fixes:
1. No hardcoded admin password: the admin is an ordinary row in `users`
   with is_admin = 1, and its bcrypt hash is read from the table.
2. bcrypt with cost 12 instead of unsalted MD5.
3. find_user uses a parameterised query, so a username like ' OR '1'='1' --
   is just a string that matches nobody.
"""
import bcrypt

BCRYPT_COST = 12


def find_user(conn, name):
    """Return (name, pw_hash, is_admin) or None."""
    return conn.execute(
        "SELECT name, pw_hash, is_admin FROM users WHERE name = ?", (name,)
    ).fetchone()


def set_password(conn, name, pw):
    """Store a bcrypt hash of pw for name (creating the user if needed)."""
    pw_hash = bcrypt.hashpw(pw.encode(), bcrypt.gensalt(BCRYPT_COST))
    conn.execute(
        "INSERT INTO users (name, pw_hash, is_admin) VALUES (?, ?, 0) "
        "ON CONFLICT(name) DO UPDATE SET pw_hash = excluded.pw_hash",
        (name, pw_hash),
    )


def login(conn, name, pw):
    """True if pw is the password of name."""
    row = find_user(conn, name)
    if row is None:
        # Hash anyway so that unknown users take as long as known ones.
        bcrypt.checkpw(b"x", bcrypt.hashpw(b"y", bcrypt.gensalt(4)))
        return False
    return bcrypt.checkpw(pw.encode(), row[1])
