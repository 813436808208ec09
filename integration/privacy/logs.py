"""Saying what happened to an order in a log line without its personal data.

Log lines carry ids, ORDER_IDs, cnotes, outcomes, codes and field names, never values from an order:
logs are kept longer, copied further and read by more people than the ledger, and they are not
erased with it. Two things need care because they quote values without anyone asking:

- JNE's (or a shop's) reasons may echo what was sent ("RECEIVER_NAME 'BUDI' has invalid
  characters"): :func:`reason_for_log` keeps our own words before JNE's and the JNE field names JNE
  mentions, not JNE's text;
- an exception's message may quote the data it choked on (``KeyError('Jl. Merdeka 5')``):
  :func:`exc_info_for_log` gives logging the traceback (files, lines, code) and the exception's
  type, with the message left out.
"""

from __future__ import annotations

import re
from types import TracebackType

from integration.jne.fields import FIELD_NAMES

_NAMES = re.compile(r"\b(" + "|".join(sorted(map(re.escape, FIELD_NAMES), key=len, reverse=True)) + r")\b",
                    re.IGNORECASE)
_KNOWN = {name.upper() for name in FIELD_NAMES}


def reason_for_log(reason: str | None) -> str:
    """``reason`` as a log may carry it: our words up to the first ``": "``, plus the JNE fields named after."""
    if not reason:
        return "-"
    ours, sep, theirs = reason.partition(": ")
    if not sep:
        # Entirely ours, unless it names values after all: our reasons that quote text all use ": ".
        ours, theirs = reason, ""
    named = sorted({m.group(1).upper() for m in _NAMES.finditer(theirs)} & _KNOWN)
    return ours + (f" (JNE's words left out; fields named: {', '.join(named)})" if named
                   else " (JNE's words left out)" if theirs else "")


class MessageLeftOut(Exception):
    """Stands in for an exception in a log record: its type is named, its message is not."""


def exc_info_for_log(exc: BaseException) -> tuple[type[BaseException], BaseException, TracebackType | None]:
    """An ``exc_info`` for logging: ``exc``'s traceback and type name, without its message."""
    name = f"{type(exc).__module__}.{type(exc).__qualname__}".removeprefix("builtins.")
    stand_in = MessageLeftOut(f"{name} (message left out: it may quote the order)")
    return MessageLeftOut, stand_in, exc.__traceback__
