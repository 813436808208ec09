"""Output that cannot be hijacked (issue 14): control characters escaped in text and log lines.

Before: an order id holding ESC ]0;...BEL set the operator's window title through ``status``, ESC
[2J cleared the screen, and worker log lines carried such values raw.
"""

from __future__ import annotations

import io
import json
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from integration.logging_setup import install_redaction
from integration.terminal import escape, escape_args, is_safe

HOSTILE = "#1001\x1b]0;owned\x07\x1b[2J\r\nFAKE LOG LINE\x00\x7f\x9b31m\u202eexe.txt\u2066\ud800"


def test_every_kind_of_control_character_is_made_visible():
    shown = escape(HOSTILE)
    assert shown == ("#1001\\x1b]0;owned\\x07\\x1b[2J\\r\\nFAKE LOG LINE\\x00\\x7f\\x9b31m"
                     "\\u202eexe.txt\\u2066\\ud800")
    assert is_safe(shown)


@pytest.mark.parametrize("text", ["Jl. Merdeka No. 5, Kec. Coblong", "Café Ñoño — 東京 🚚", "a\\x1b", ""])
def test_ordinary_text_is_unchanged(text):
    assert escape(text) == text


@given(st.text())
def test_escaped_text_is_always_safe_and_one_line(text):
    shown = escape(text)
    assert is_safe(shown)
    assert "\n" not in shown and "\r" not in shown and "\x1b" not in shown


def test_json_output_needs_no_escaping_and_stays_exact():
    # JSON writers already write controls as \\uXXXX; the value round-trips exactly.
    text = json.dumps({"order": HOSTILE.replace("\ud800", "")})
    assert is_safe(text)
    assert json.loads(text)["order"] == HOSTILE.replace("\ud800", "")


def test_logging_arguments_are_escaped():
    assert escape_args(("a\x1b", 3, None)) == ("a\\x1b", 3, None)
    assert escape_args({"k": "\n"}) == {"k": "\\n"}


def test_log_lines_carry_hostile_values_escaped_on_one_line():
    install_redaction(["redacted-secret-value"])
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("test.terminal")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        logger.info("booked order %s", HOSTILE)
        logger.warning("mapping rule %(rule)s failed", {"rule": "x\x1b[2J"})
        logger.error(f"an f-string message {HOSTILE}")  # noqa: G004 - what careless code does
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3
    assert all(is_safe(line) for line in lines)
    assert lines[0].startswith("INFO booked order #1001\\x1b]0;owned\\x07")
    assert lines[1] == "WARNING mapping rule x\\x1b[2J failed"
