"""The framework floor of `make bench-api`: a bare Flask app that answers the same response
bytes the real endpoint gave, from memory (no database, no node, no validation), served by the
same server (waitress, or gunicorn with the same workers) on the same machine. The answers are
read from the JSON file named by GIFTCERT_FLOOR_FILE: {"METHOD path": "body", ...} (a POST's
key is "POST path" whatever its body)."""

from __future__ import annotations

import json
import os

from flask import Flask, Response, request


def create_app() -> Flask:
    with open(os.environ["GIFTCERT_FLOOR_FILE"], encoding="utf-8") as handle:
        answers = {k: v.encode() for k, v in json.load(handle).items()}
    app = Flask(__name__)

    @app.route("/<path:path>", methods=["GET", "POST"])
    def answer(path: str) -> Response:
        key = f"{request.method} {request.full_path.rstrip('?')}"
        body = answers.get(key) or answers.get(f"{request.method} /{path}")
        if body is None:
            return Response(b'{"error": "not captured"}', 404, mimetype="application/json")
        return Response(body, 200, mimetype="application/json")

    return app
