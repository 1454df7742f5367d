"""The Tulay application factory: `create_app()` builds everything; nothing happens at import."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from app.config import ConfigError, database_url, load_settings
from app.files import private_folder


class DatabaseIdConverter(IntegerConverter):
    """`<int:…>` bounded to what a 32-bit integer column holds."""

    def __init__(self, map, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def create_app(config_overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from the environment (+ `.env`) and `config_overrides`.

    A bad setting prints one line naming it to stderr and exits with status 2.
    """
    try:
        settings = load_settings(overrides=config_overrides)
    except ConfigError as exc:
        print(f"tulay: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None

    app = Flask(__name__, instance_path=settings.INSTANCE_PATH)
    # Ids in URLs are database integers: a larger number is a 404, never a database error.
    app.url_map.converters["int"] = DatabaseIdConverter
    app.config.update(settings.as_flask_config())
    app.config["SQLALCHEMY_URL"] = database_url(settings)
    app.config["TESTING"] = settings.TULAY_ENV == "test"
    private_folder(Path(app.instance_path))  # it holds the database, media and secrets: 0700

    from app import (
        api,
        db,
        dispatch,
        errors,
        headers,
        health,
        i18n,
        labels,
        logs,
        public,
        queues,
        security,
        transparency,
    )
    from app import cli as commands
    from app.api import compliance as compliance_api
    from app.console import bp as console_bp
    from casework.privacy import configure_privacy
    from channels.twilio import webhooks as twilio_webhooks

    logs.configure_logging(settings.LOG_LEVEL)
    configure_privacy(settings.DATA_ENCRYPTION_KEY)
    logs.init_app(app)  # the request log line; first, so its clock starts before any other hook
    db.init_app(app, app.config["SQLALCHEMY_URL"])
    dispatch.init_app(app)  # the job table's hooks, on this app's session factory
    queues.init_app(app)
    i18n.init_app(app)
    labels.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    health.init_app(app)
    twilio_webhooks.init_app(app, db.get_session)
    security.csrf.exempt(twilio_webhooks.bp)  # Twilio signs its requests instead
    headers.init_app(app)
    public.init_app(app)
    app.register_blueprint(console_bp)
    api.init_app(app)
    compliance_api.init_app(app)
    app.register_blueprint(transparency.bp)
    commands.init_app(app)
    hops = settings.TRUSTED_PROXY_HOPS
    if hops:
        # The client's address, scheme and host as the trusted proxies saw them: the rate limit
        # tells reporters behind one router apart, and only the last `hops` values are believed.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    return app
