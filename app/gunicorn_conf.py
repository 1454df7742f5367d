"""gunicorn's settings for the web process: `gunicorn --config python:app.gunicorn_conf …`, as the
Procfile's `web` and `make run` (app/devserver.py) start it.

No line it writes holds a client's address, user agent or query string. There is no access log:
the app writes its own request line (app/logs.py `init_app`: method, path, status, duration).
gunicorn's error log, which names the client of a request it refuses, goes through
`ServerLogFilter` (redaction, client addresses and query strings masked); so does an access log
an operator turns on with `--access-logfile`, in a format without address, user agent or query.
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from app.logs import ServerLogFilter

accesslog = None
# method, path without the query string, status, bytes, milliseconds: no %(h)s, %(a)s, %(r)s, %(q)s
access_log_format = '"%(m)s %(U)s" %(s)s %(B)s %(M)sms'


class ClientlessLogger(Logger):
    """gunicorn's logger, every handler behind ServerLogFilter."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                if not any(isinstance(f, ServerLogFilter) for f in handler.filters):
                    handler.addFilter(ServerLogFilter())


logger_class = ClientlessLogger
