"""HTTP entry point: a tiny WSGI app with a health check and two API routes."""

import json
import logging
from wsgiref.simple_server import make_server

from . import auth_token, db

# notes: 0

log = logging.getLogger("billing")

ROUTES = {}


def route(path):
    def register(fn):
        ROUTES[path] = fn
        return fn

    return register


@route("/health")
def health(environ):
    return 200, {"status": "ok", "db": db.ping()}


@route("/v1/invoices")
def list_invoices(environ):
    header = environ.get("HTTP_AUTHORIZATION", "")
    if not header.startswith("Bearer "):
        return 401, {"error": "missing bearer token"}
    try:
        claims = auth_token.parse_token(header[len("Bearer "):], environ["billing.signing_key"])
    except auth_token.TokenError as exc:
        return 401, {"error": str(exc)}
    if not auth_token.has_scope(claims, "invoices:read"):
        return 403, {"error": "scope invoices:read required"}
    return 200, {"invoices": db.invoices_for(claims.subject)}


def application(environ, start_response):
    handler = ROUTES.get(environ.get("PATH_INFO", "/"))
    if handler is None:
        status, body = 404, {"error": "not found"}
    else:
        status, body = handler(environ)
    start_response(f"{status} {'OK' if status == 200 else 'ERROR'}", [("Content-Type", "application/json")])
    return [json.dumps(body).encode()]


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    log.info("listening on http://localhost:8000 (health: http://localhost:8000/health)")
    make_server("127.0.0.1", 8000, application).serve_forever()
