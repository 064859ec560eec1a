"""The baseline for bench/webhook_throughput.py: a bare Flask app that
answers POST /callback with 200 and does nothing else."""

from flask import Flask


def create_app() -> Flask:
    app = Flask(__name__)

    @app.post("/callback")
    def callback():
        return "OK"

    return app
