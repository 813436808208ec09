"""Text from outside (orders, headers, mapping files) made safe to show on a terminal or in a log.

An order id, a customer name or a rule name may hold terminal control sequences: ESC ``]0;`` sets
the window title, ESC ``[2J`` clears the screen, a carriage return or newline forges a log line,
and the Unicode bidirectional overrides make ``txt.exe`` read as ``exe.txt``. Every human-readable
output passes outside text through ``escape`` first; JSON output does not (``json.dumps`` already
writes every control character as ``\\uXXXX``, and JSON must stay exact).

What is escaped, each shown as a visible escape (``\\x1b``, ``\\n``, ``\\u202e``) so nothing is
lost: C0 controls (U+0000-U+001F, tab and newline too: one value stays on one line), DEL, C1
controls (U+0080-U+009F, which some terminals read as ESC sequences), the bidirectional marks,
embeddings, overrides and isolates, the Unicode line and paragraph separators, and lone surrogates
(undecodable bytes). Backslashes are left as they are, so ordinary text reads unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f"      # C0, DEL, C1
    "\u061c\u200e\u200f"       # Arabic letter mark, left-to-right and right-to-left marks
    "\u202a-\u202e"            # embeddings and overrides
    "\u2066-\u2069"            # isolates
    "\u2028\u2029"             # line and paragraph separators
    "\ud800-\udfff]"           # lone surrogates (surrogateescape'd bytes)
)


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def escape(text: Any) -> str:
    """``text`` (any value, as ``str()``) with every control and bidi character shown as an escape."""
    value = text if isinstance(text, str) else str(text)
    return _UNSAFE.sub(_visible, value)


def is_safe(text: str) -> bool:
    """True when ``text`` holds nothing ``escape`` would change."""
    return _UNSAFE.search(text) is None


def escape_args(args: Any) -> Any:
    """Logging arguments (a tuple or a mapping) with every ``str`` among them escaped."""
    if isinstance(args, tuple):
        return tuple(escape(a) if isinstance(a, str) else a for a in args)
    if isinstance(args, Mapping):
        return {k: escape(v) if isinstance(v, str) else v for k, v in args.items()}
    return args
