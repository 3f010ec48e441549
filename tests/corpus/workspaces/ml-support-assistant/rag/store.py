"""pgvector store for help-centre chunks. Credentials come from the environment."""

import os
from urllib.parse import quote_plus

import psycopg
from pgvector.psycopg import register_vector


def database_url() -> str:
    user = os.environ["PGVECTOR_USER"]
    password = quote_plus(os.environ["PGVECTOR_PASSWORD"])
    host = os.environ.get("PGVECTOR_HOST", "localhost")
    port = os.environ.get("PGVECTOR_PORT", "5432")
    db = os.environ.get("PGVECTOR_DB", "support_rag")
    return f"postgresql://{user}:{password}@{host}:{port}/{db}"


def connect() -> psycopg.Connection:
    conn = psycopg.connect(database_url(), autocommit=True)
    register_vector(conn)
    return conn


def search(conn: psycopg.Connection, embedding, k: int = 6) -> list[tuple[str, str, float]]:
    sql = (
        "SELECT article_id, chunk, 1 - (embedding <=> %s) AS score "
        "FROM kb_chunks ORDER BY embedding <=> %s LIMIT %s"
    )
    return conn.execute(sql, (embedding, embedding, k)).fetchall()
