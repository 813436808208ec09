"""Keep configuration secrets (webhook secrets, JNE api keys) out of every log line, and keep
every log line one line of plain text (control characters in logged values escaped).

Escaping (``integration.terminal``) happens in the same record factory, before redaction: the
arguments of a record (or its message, when it has none) get C0/C1 controls, ESC, DEL and bidi
overrides written as visible escapes, so an order id holding ESC ]0; or a newline can neither
drive the operator's terminal nor forge a second log line. Tracebacks keep their line breaks; each
of their lines is escaped.

Redaction happens twice, on purpose:

- at record creation, through a wrapped log-record factory, so every record from any logger reaches
  every handler already redacted, including handlers added later (gunicorn's, pytest's caplog);
- as a ``logging.Filter`` on the handlers that exist when installed, which also sees ``extra=``
  fields that the record factory cannot (they are set after the factory runs).

Installing again (several apps in one process, the CLI then ``create_app``) only adds secrets: one
process redacts the union of every configuration it has loaded, which errs on the safe side.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

from integration.terminal import escape, escape_args

MASK = "[redacted]"
_MIN_LENGTH = 4  # shorter values would mangle ordinary words; config.secrets() applies the same floor


class RedactSecrets(logging.Filter):
    """Replace every known secret in a record's message, arguments, traceback and stack text."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def add(self, secrets: Iterable[str]) -> None:
        """Redact these values too (longest first, so a secret containing another is masked whole)."""
        with self._lock:
            merged = set(self._secrets) | {s for s in secrets if s and len(s) >= _MIN_LENGTH}
            self._secrets = tuple(sorted(merged, key=len, reverse=True))

    def redact(self, text: str) -> str:
        """``text`` with every secret masked."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact ``record`` in place; never drops it."""
        secrets = self._secrets
        if not secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: let logging report it, but never leak args
            message = f"{record.msg!s} {record.args!r}"
        if any(s in message for s in secrets):
            record.msg, record.args = self.redact(message), None
        for name, value in list(record.__dict__.items()):
            # extra= fields and anything a formatter might print
            if isinstance(value, str) and name not in ("msg", "message") and any(s in value for s in secrets):
                setattr(record, name, self.redact(value))
        if record.exc_info and not record.exc_text:
            # Format the traceback now, redacted; formatters reuse exc_text instead of re-formatting.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


REDACTOR = RedactSecrets()
_installed = False
_install_lock = threading.Lock()


def install_redaction(secrets: Iterable[str]) -> RedactSecrets:
    """Redact ``secrets`` from every log record of this process from now on; returns the filter."""
    global _installed
    REDACTOR.add(secrets)
    with _install_lock:
        if not _installed:
            previous = logging.getLogRecordFactory()

            def factory(*args: object, **kwargs: object) -> logging.LogRecord:
                record = previous(*args, **kwargs)
                escape_record(record)
                REDACTOR.filter(record)
                if record.exc_text:
                    record.exc_text = "\n".join(escape(line) for line in record.exc_text.split("\n"))
                return record

            logging.setLogRecordFactory(factory)
            _installed = True
        for handler in _current_handlers():
            if REDACTOR not in handler.filters:
                handler.addFilter(REDACTOR)
    return REDACTOR


def escape_record(record: logging.LogRecord) -> None:
    """Escape control characters in ``record``'s arguments, or in its message when it has none."""
    if record.args:
        record.args = escape_args(record.args)
    elif isinstance(record.msg, str):
        record.msg = escape(record.msg)


def default_logging(level: int = logging.INFO) -> None:
    """Log to stderr with times when nothing set logging up (gunicorn imports the app bare)."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(process)d %(name)s: %(message)s")
        logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # ten lines per process


def _current_handlers() -> list[logging.Handler]:
    loggers = [logging.getLogger()]
    loggers += [lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)]
    return [h for lg in loggers for h in lg.handlers]
