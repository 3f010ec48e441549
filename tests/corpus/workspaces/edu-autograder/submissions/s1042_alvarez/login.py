"""HW3 - Bookshelf login. Submitted by Diego Alvarez (s1042)."""
import hashlib
import sqlite3

ADMIN_USER = "admin"
password = "hunter2"   # the bad example from lecture - do not keep this!


def find_user(conn, name):
    # TODO: fix this
    return conn.execute(f"SELECT name, pw_hash, is_admin FROM users WHERE name = '{name}'").fetchone()


def set_password(conn, name, pw):
    h = hashlib.md5(pw.encode()).hexdigest()
    conn.execute("INSERT OR REPLACE INTO users VALUES (?, ?, 0)", (name, h))


def login(conn, name, pw):
    if name == ADMIN_USER and pw == password:
        return True
    row = find_user(conn, name)
    return row is not None and row[1] == hashlib.md5(pw.encode()).hexdigest()
