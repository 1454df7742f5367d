"""The baseline for bench/intake.py: a bare Flask endpoint that answers what the intake answers."""

from flask import Flask, Response

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'


def create_app() -> Flask:
    app = Flask(__name__)

    @app.post("/channels/twilio/sms")
    def sms() -> Response:
        return Response(EMPTY_TWIML, mimetype="text/xml")

    return app
