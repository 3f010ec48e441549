"""HW3 Bookshelf login - Linh Nguyen (s1118)
1) removed the hardcoded admin password, the admin row is in the users table
2) bcrypt cost 13
3) parameterised query in find_user
"""
import hmac
import bcrypt


def find_user(conn, name):
    cur = conn.cursor()
    cur.execute("SELECT name, pw_hash, is_admin FROM users WHERE name = ?", (name,))
    return cur.fetchone()


def set_password(conn, name, pw):
    conn.execute("INSERT OR REPLACE INTO users VALUES (?, ?, 0)",
                 (name, bcrypt.hashpw(pw.encode(), bcrypt.gensalt(13))))


def login(conn, name, pw):
    row = find_user(conn, name)
    if not row:
        return False
    candidate = bcrypt.hashpw(pw.encode(), row[1])
    return hmac.compare_digest(candidate, row[1])
