"""Process logs: one JSON object per line, a request id on every line, and our access log.

``logging_config`` gives the root logger one handler on stderr, formatted as JSON
(``SCIM_LOG_FORMAT=json``, for log collectors) or as text for people. Every record logged while
a request is served carries that request's id and, once its token is checked, its
organization: :class:`RequestMiddleware` binds them in a context variable that the handler's
filter reads, so no call site has to pass them. The middleware also writes the access log
(method, path, status, duration_ms, user_agent, org, request_id) that replaces uvicorn's own,
and answers every response with ``X-Request-Id``. A client's ``X-Request-Id`` is kept when it
looks like an id, so that a request can be followed from the IdP's logs into ours.

Secrets never reach the logs: nothing here logs headers, bodies or query strings, and the
formatters still mask anything shaped like a bearer token, a SCIM or operator token, a JWT or
a ``password``/``client_secret`` value, in case a message or an exception quotes one.
"""

import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any

from starlette.datastructures import Headers
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp
from starlette.types import Message
from starlette.types import Receive
from starlette.types import Scope
from starlette.types import Send

REQUEST_ID_HEADER = "X-Request-Id"
ACCESS_LOGGER = "scim_server.access"
PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
"""Polled every few seconds by orchestrators and Prometheus: logged at DEBUG only."""

USER_AGENT_LIMIT = 200
"""Characters of the ``User-Agent`` kept in the access log."""

CHATTY_LOGGERS = ("httpx", "httpcore", "alembic")
"""A line per Auth0 request (``/metrics`` counts them) and per ``/readyz`` schema check."""

UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
"""Loggers uvicorn's default configuration gives handlers and levels of their own and stops
from propagating: reset here, so their records reach our one handler whoever configured first."""

_CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def _masked(value: str) -> str:
    """Return ``[redacted]``, inside the quotes ``value`` had."""
    quote = value[0] if value[0] in "\"'" else ""
    return f"{quote}[redacted]{quote}"


_SECRETS: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    (re.compile(r"(?i)\b(bearer\s+)[^\s\"',;]+"), r"\1[redacted]"),
    (re.compile(r"\b(scim(?:op)?_)(?=[A-Za-z0-9_-]*[A-Z0-9])[A-Za-z0-9_-]{30,}"), r"\1[redacted]"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), "[redacted jwt]"),
    (
        re.compile(
            r"(?i)(\"?\b(?:password|client_secret|secret|access_token|refresh_token|id_token)\"?"
            r"\s*[:=]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;&}\"'\\]+)"
        ),
        lambda match: match[1] + _masked(match[2]),
    ),
]

_NOT_EXTRAS = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "request_id",
    "org",
    "color_message",  # uvicorn's message with terminal colours
}
"""Record attributes that are not fields a call site added with ``extra=``."""


def redact(text: str) -> str:
    """Mask what looks like a credential in a log line.

    >>> redact("Authorization: Bearer abc.def")
    'Authorization: Bearer [redacted]'
    >>> redact('{"userName": "ada", "password": "hunter2!"}')
    '{"userName": "ada", "password": "[redacted]"}'
    >>> redact("token scim_Ab3dEfGhIjKlMnOpQrStUvWxYz0123456789 refused")
    'token scim_[redacted] refused'
    >>> redact("module scim_server.provisioning.worker")
    'module scim_server.provisioning.worker'
    """
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


@dataclass
class RequestContext:
    """What every log line of one request says about it; the org is bound once authenticated."""

    request_id: str
    org: str | None = None


_current: ContextVar[RequestContext | None] = ContextVar("scim_server_request", default=None)


def current_request() -> RequestContext | None:
    """Return the context of the request being served, if any."""
    return _current.get()


def request_id_from(headers: Mapping[str, str]) -> str:
    """Return the client's ``X-Request-Id`` when it looks like an id, else a new one.

    >>> request_id_from({"x-request-id": "req-42"})
    'req-42'
    >>> len(request_id_from({"x-request-id": "two words"}))
    32
    """
    given = headers.get(REQUEST_ID_HEADER.lower(), "")
    return given if _CLIENT_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


def bound_request_id(headers: Mapping[str, str]) -> str:
    """Return the id of the request being served (one outside the middleware gets its own)."""
    context = current_request()
    return context.request_id if context is not None else request_id_from(headers)


def bind_org(org_key: str) -> None:
    """Name the organization of the request being served, now that its token is checked."""
    context = current_request()
    if context is not None:
        context.org = org_key


class RequestContextFilter(logging.Filter):
    """Adds ``request_id`` and ``org`` to every record (``None`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Annotate the record; never drops one."""
        context = current_request()
        if not hasattr(record, "request_id"):
            record.request_id = context.request_id if context else None
        if not hasattr(record, "org"):
            record.org = context.org if context else None
        return True


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    """Return the fields a call site added with ``extra=``."""
    return {k: v for k, v in record.__dict__.items() if k not in _NOT_EXTRAS}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, org, extras, error."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as one line of JSON, credentials masked."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for name in ("request_id", "org"):
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        entry.update(
            (key, redact(value) if isinstance(value, str) else value)
            for key, value in _extras(record).items()
        )
        if record.exc_info:
            entry["error"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """A line for people: time, level, logger, [request id and org], message, traceback."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as text, credentials masked."""
        moment = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%d %H:%M:%S")
        where = " ".join(
            str(value)
            for value in (getattr(record, "request_id", None), getattr(record, "org", None))
            if value is not None
        )
        line = f"{moment} {record.levelname:<7} {record.name}"
        if where:
            line += f" [{where}]"
        line += f" {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return redact(line)


def logging_config(
    *, log_format: str, level: str, stream: Any = "ext://sys.stderr"
) -> dict[str, Any]:
    """Return the ``logging.config.dictConfig`` of a process: one handler on stderr, our format.

    ``serve`` hands it to uvicorn (``log_config``), which applies it at start-up, so that
    uvicorn's own records, which propagate to the root logger, are formatted the same way;
    ``worker`` applies it itself. The libraries in :data:`CHATTY_LOGGERS` speak only from
    WARNING up, unless the level is DEBUG.
    """
    quiet = "DEBUG" if level.upper() == "DEBUG" else "WARNING"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request": {"()": RequestContextFilter}},
        "formatters": {"line": {"()": JsonFormatter if log_format == "json" else TextFormatter}},
        "handlers": {
            "stream": {
                "class": "logging.StreamHandler",
                "stream": stream,
                "formatter": "line",
                "filters": ["request"],
            }
        },
        "root": {"handlers": ["stream"], "level": level.upper()},
        "loggers": {
            **{name: {"level": quiet} for name in CHATTY_LOGGERS},
            **{
                name: {"level": "NOTSET", "handlers": [], "propagate": True}
                for name in UVICORN_LOGGERS
            },
        },
    }


@dataclass(frozen=True)
class Completed:
    """A request that was answered (or failed without an answer: status 500)."""

    scope: Scope
    method: str
    status: int
    seconds: float
    context: RequestContext


class RequestMiddleware:
    """Binds each HTTP request's context, answers ``X-Request-Id``, and logs its completion.

    :param observe: Also told of every completed request (the ``/metrics`` counters).
    """

    def __init__(self, app: ASGIApp, *, observe: Callable[[Completed], None]) -> None:
        self.app = app
        self.observe = observe
        self.log = logging.getLogger(ACCESS_LOGGER)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request inside its context."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        context = RequestContext(request_id=request_id_from(Headers(scope=scope)))
        token = _current.set(context)
        started = time.monotonic()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = MutableHeaders(scope=message)
                if REQUEST_ID_HEADER not in headers:
                    headers[REQUEST_ID_HEADER] = context.request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._completed(
                Completed(scope, scope["method"], status, time.monotonic() - started, context)
            )
            _current.reset(token)

    def _completed(self, done: Completed) -> None:
        path: str = done.scope["path"]
        level = logging.DEBUG if path in PROBE_PATHS else logging.INFO
        duration_ms = round(done.seconds * 1000, 1)
        self.log.log(
            level,
            "%s %s %s %sms",
            done.method,
            path,
            done.status,
            duration_ms,
            extra={
                "method": done.method,
                "path": path,
                "status": done.status,
                "duration_ms": duration_ms,
                # Which client called ("Okta SCIM Client 1.0.0"): support's first question.
                "user_agent": Headers(scope=done.scope).get("user-agent", "")[:USER_AGENT_LIMIT],
            },
        )
        self.observe(done)
