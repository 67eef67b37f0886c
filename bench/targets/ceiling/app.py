"""The ceiling target: bare Flask under the same gunicorn settings, no OAuth, no database.

``GET /ping`` and ``POST /echo`` (the form body back as JSON) are the most a
Flask app can answer per second here; the OAuth targets are measured
against them.
"""

from __future__ import annotations

import json
import sys

import flask
from flask import jsonify, request

from bench.targets import fixtures as fx


def create_app(env: dict[str, str] | None = None) -> flask.Flask:
    app = flask.Flask(__name__)

    @app.get("/ping")
    def ping():
        return "pong"

    @app.post("/echo")
    def echo():
        return jsonify(request.form.to_dict())

    return app


def seed(env: dict[str, str] | None = None) -> dict[str, object]:
    return fx.fixtures("")


if __name__ == "__main__":
    print(json.dumps(seed()) if sys.argv[1:] == ["seed"] else "usage: ... seed")
