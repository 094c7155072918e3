"""`healthclaims review serve`: the review queue as a local web page (Flask).

The page is one HTML document; it fetches claims from a small JSON API and
sends decisions back with the same single keys as the terminal reviewer.

Cross-site protection, since a page elsewhere could try to post to a local
server: every request that changes data must be a JSON POST carrying the
`X-CSRF-Token` header with this server's secret (a random value made at
start-up and written only into the page it serves), and its `Origin`, when
sent, must be this server's own. Requests naming another `Host` are refused,
so a DNS-rebinding page cannot reach the API either.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict
from pathlib import Path

from flask import Flask, abort, jsonify, render_template, request

from pipeline.errors import ReviewError
from pipeline.review import LABEL_VALUES, open_store
from pipeline.schema import LABEL_MEANING, LABELS

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def create_app(
    db_path: Path,
    *,
    reviewer: str,
    order: str = "uncertain",
    filters: dict | None = None,
    allowed_hosts: tuple[str, ...] = LOCAL_HOSTS,
) -> Flask:
    """The review web app over the database at `db_path`."""
    app = Flask("pipeline.review_web", template_folder=str(Path(__file__).parent / "render" / "templates"))
    token = secrets.token_urlsafe(32)
    filters = filters or {}
    app.config["CSRF_TOKEN"] = token

    def opened():
        return open_store(db_path, create=False)  # one connection per request, closed with it

    @app.before_request
    def guard():
        host = (request.host or "").rsplit(":", 1)[0].strip("[]")
        if host not in allowed_hosts:
            abort(403, "unknown host")
        if request.method != "GET":
            origin = request.headers.get("Origin")
            if origin and origin.split("://", 1)[-1] != request.host:
                abort(403, "cross-site request refused")
            if not secrets.compare_digest(request.headers.get("X-CSRF-Token", ""), token):
                abort(403, "missing or wrong CSRF token")
            if not request.is_json:
                abort(415, "send JSON")

    @app.errorhandler(ReviewError)
    def review_error(err):
        return jsonify(error=str(err)), 409

    @app.get("/")
    def page():
        return render_template(
            "review.html.j2",
            token=token,
            reviewer=reviewer,
            labels=LABEL_VALUES,
            meaning={label.value: LABEL_MEANING[label] for label in LABELS},
        )

    def state(store, item, **extra):
        return jsonify(
            item=asdict(item) if item else None,
            progress=store.progress(**filters),
            reviewer=reviewer,
            **extra,
        )

    @app.get("/api/next")
    def next_item():
        with opened() as store:
            return state(store, store.next_item(reviewer, order=order, **filters))

    @app.post("/api/decide")
    def decide():
        body = request.get_json(silent=True) or {}
        with opened() as store:
            recorded = store.decide(
                str(body.get("item_id", "")),
                str(body.get("decision", "")),
                reviewer=reviewer,
                label=body.get("label"),
                note=str(body.get("note", "")),
                version=body.get("version"),
            )
            return state(store, store.next_item(reviewer, order=order, **filters), recorded=recorded)

    @app.post("/api/undo")
    def undo():
        with opened() as store:
            return state(store, store.undo(reviewer))

    @app.post("/api/note")
    def note():
        body = request.get_json(silent=True) or {}
        with opened() as store:
            store.note(str(body.get("item_id", "")), str(body.get("note", "")), reviewer=reviewer)
        return jsonify(ok=True)

    return app
