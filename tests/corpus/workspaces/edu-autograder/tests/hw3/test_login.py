"""Public + hidden tests for HW3. The harness copies the student's login.py
next to this file as `submission.py` before running pytest."""
import ast
import re
import sqlite3
import time

import bcrypt
import pytest

import submission

SUSPICIOUS_NAMES = re.compile(r"pass(word|wd)?|secret|pwd", re.I)


@pytest.fixture
def db(tmp_path):
    conn = sqlite3.connect(tmp_path / "bookshelf.db")
    conn.execute("CREATE TABLE users (name TEXT PRIMARY KEY, pw_hash BLOB, is_admin INT)")
    # Test-only credentials, generated per run; never a real account.
    test_pw = b"correct horse battery staple"
    conn.execute("INSERT INTO users VALUES (?, ?, 1)",
                 ("admin", bcrypt.hashpw(test_pw, bcrypt.gensalt(12))))
    conn.commit()
    yield conn, test_pw
    conn.close()


def test_no_hardcoded_password():
    tree = ast.parse(open(submission.__file__).read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) \
                and isinstance(node.value.value, str):
            for target in node.targets:
                if isinstance(target, ast.Name) and SUSPICIOUS_NAMES.search(target.id):
                    pytest.fail(f"line {node.lineno}: {target.id} is assigned a string literal")


def test_bcrypt_cost(db):
    conn, _ = db
    submission.set_password(conn, "bob", "a fresh test password")
    (h,) = conn.execute("SELECT pw_hash FROM users WHERE name = 'bob'").fetchone()
    assert h[:4] == b"$2b$" and int(h[4:6]) >= 12


def test_sqli_username(db):
    conn, _ = db
    assert submission.login(conn, "' OR '1'='1' --", "anything") is False
    assert submission.login(conn, "admin' --", "anything") is False


def test_timing(db):
    src = open(submission.__file__).read()
    assert "checkpw" in src or "compare_digest" in src
    conn, pw = db
    assert submission.login(conn, "admin", pw.decode()) is True
