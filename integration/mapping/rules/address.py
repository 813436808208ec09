"""The address rule: spread the receiver's address parts over JNE's address lines without losing any.

JNE takes three address lines of at most 85 bytes. Each part (address1, address2, company...)
starts a new line and a long part wraps at a word boundary, like the checkout form; when that
needs too many lines, short neighbouring parts share a line (joined by ", "); failing that, the
words are packed as tightly as they go, and a single word longer than a line is split hard. Nothing
is silently dropped: an address that still does not fit is an error with its size.

Problems are filed under one key for the whole address (``RECEIVER_ADDR`` for RECEIVER_ADDR1..3: no
single line is wrong), which stands for exactly the fields the rule fills.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from integration.jne.fields import BY_NAME, FIELD_NAMES
from integration.mapping.files.documents import suggest
from integration.mapping.files.tables import normalise_key
from integration.mapping.language.budget import check_time
from integration.mapping.language.expressions import EXPRESSION_FAILED_IN, Expression, ExpressionError
from integration.mapping.language.transforms import Reject, Step, run_pipeline
from integration.mapping.language.values import Refusal, is_blank, shown, text_of
from integration.mapping.rules.base import Applied, ConfiguredRule, LoadContext, RuleKind
from integration.problems import Origin, Problem, define

DEFAULT_INTO = ("RECEIVER_ADDR1", "RECEIVER_ADDR2", "RECEIVER_ADDR3")

TOO_LONG = define(
    "rule.address.too_long",
    en="the address is {size} bytes; {lines} lines of {max_bytes} bytes ({capacity} bytes) cannot hold it "
       "(split at word boundaries it needs {needed} lines): shorten it",
    id="alamat ini {size} byte; {lines} baris berisi paling banyak {max_bytes} byte ({capacity} byte) tidak "
       "cukup untuk menampungnya (dipecah per kata, perlu {needed} baris): persingkat alamatnya")
PART_NOT_TEXT = define("rule.address.part_not_text", en="address part {expression} is not text: {value}",
                       id="bagian alamat {expression} bukan teks: {value}")
NO_ADDRESS = define("rule.address.blank", en="no address: {expressions} are all blank",
                    id="tidak ada alamat: {expressions} semuanya kosong")


class AddressTooLong(Refusal):
    """The address needs more lines than there are: the problem says how big it is and the limit."""


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _hard_split(word: str, max_bytes: int) -> tuple[list[str], str]:
    """``word`` cut into lines of at most ``max_bytes`` bytes on character boundaries, and the rest.

    Encoded once and cut in bytes: cutting the text and encoding the remainder again for every line
    made a 2 MB address take minutes (quadratic).
    """
    data = word.encode("utf-8")
    lines: list[str] = []
    start = 0
    while len(data) - start > max_bytes:
        end = start + max_bytes
        while end > start and data[end] & 0xC0 == 0x80:  # a continuation byte: back to the character's start
            end -= 1
        if end == start:  # a single character wider than the limit cannot be split further
            end = start + 1
            while end < len(data) and data[end] & 0xC0 == 0x80:
                end += 1
        lines.append(data[start:end].decode("utf-8"))
        start = end
        if len(lines) % 1024 == 0:
            check_time()
    return lines, data[start:].decode("utf-8")


def distinct_parts(parts: list[str]) -> list[str]:
    """Non-blank parts, each once (a district repeated in address2 and in its own field counts once)."""
    seen: set[str] = set()
    out: list[str] = []
    for part in parts:
        text = " ".join(part.split())
        key = normalise_key(text)
        if text and key not in seen:
            seen.add(key)
            out.append(text)
    return out


def spread(parts: list[str], lines: int, max_bytes: int) -> list[str]:
    """The address lines (at most ``lines``, each at most ``max_bytes``); raise AddressTooLong."""
    parts = distinct_parts(parts)
    if not parts:
        return []
    if len(parts) <= lines and all(_size(p) <= max_bytes for p in parts):
        return parts  # the usual case: every part on its own line as it is
    # 1. each part starts a line; a long part wraps at word boundaries (reads like the checkout form)
    own_lines = [line for part in parts for line in _pack_words(part.split(), max_bytes)]
    if len(own_lines) <= lines:
        return own_lines
    # 2. short neighbouring parts share a line, ", " between them; the smallest pairs first, so
    #    address1 keeps its own line when it can
    if all(_size(p) <= max_bytes for p in parts):
        shared = _merge_smallest(parts, lines, max_bytes)
        if len(shared) <= lines:
            return shared
    # 3. every word packed as tightly as it goes
    words: list[str] = []
    for index, part in enumerate(parts):
        part_words = part.split()
        if index < len(parts) - 1 and part_words and part_words[-1][-1] not in ",.;:":
            part_words[-1] += ","
        words += part_words
    packed = _pack_words(words, max_bytes)
    if len(packed) > lines:
        raise AddressTooLong(TOO_LONG, size=_size(", ".join(parts)), lines=lines, max_bytes=max_bytes,
                             capacity=lines * max_bytes, needed=len(packed))
    return packed


def _merge_smallest(parts: list[str], lines: int, max_bytes: int) -> list[str]:
    out = list(parts)
    while len(out) > lines:
        pairs = [(_size(out[i]) + _size(out[i + 1]), i) for i in range(len(out) - 1)
                 if _size(out[i]) + 2 + _size(out[i + 1]) <= max_bytes]
        if not pairs:
            break
        _, i = min(pairs, key=lambda pair: (pair[0], -pair[1]))  # ties: merge towards the end
        out[i:i + 2] = [f"{out[i]}, {out[i + 1]}"]
    return out


def _pack_words(words: list[str], max_bytes: int) -> list[str]:
    out: list[str] = []
    line = ""
    for index, word in enumerate(words):
        if index % 1024 == 1023:
            check_time()
        if _size(word) > max_bytes:  # one huge "word" (a pasted URL, no spaces): split it hard
            if line:
                out.append(line)
            pieces, line = _hard_split(word, max_bytes)
            out += pieces
        elif not line:
            line = word
        elif _size(line) + 1 + _size(word) <= max_bytes:
            line = f"{line} {word}"
        else:
            out.append(line)
            line = word
    if line:
        out.append(line)
    return out


# -- the plug-in --------------------------------------------------------------------------------

def error_key(into: tuple[str, ...]) -> str:
    """Where address problems are filed: RECEIVER_ADDR for RECEIVER_ADDR1..3 (no single line is wrong)."""
    stems = {name.rstrip("0123456789") for name in into}
    return stems.pop() if len(stems) == 1 else into[0]


@dataclass(frozen=True)
class AddressRule(ConfiguredRule):
    """The address rule: parts (expressions) spread over ``into`` lines of ``max_bytes``."""

    name = "address"
    origin: Origin
    parts: tuple[Expression, ...]
    into: tuple[str, ...]
    max_bytes: int
    steps: tuple[Step, ...]
    filler: str = "-"

    @property
    def outputs(self) -> tuple[str, ...]:
        """The address lines it fills."""
        return self.into

    @property
    def covers(self) -> dict[str, tuple[str, ...]]:
        """``RECEIVER_ADDR`` stands for the lines the rule fills."""
        key = error_key(self.into)
        return {} if key in self.into else {key: self.into}

    def apply(self, scope: dict[str, Any], values: dict[str, str], now: datetime) -> Applied:
        """The address lines, or one problem under the rule's key."""
        key = error_key(self.into)
        parts: list[str] = []
        for expression in self.parts:
            try:
                raw = expression.evaluate(scope)
                items = raw if isinstance(raw, list) else [raw]
                for item in items:
                    if isinstance(item, list | dict):
                        return {}, [Problem(key, PART_NOT_TEXT, {"expression": expression.source,
                                                                 "value": shown(item)}, self.origin)]
                    text = run_pipeline(item, self.steps) if self.steps else item
                    if not is_blank(text):
                        parts.append(text_of(text))
            except ExpressionError as exc:
                return {}, [Problem(key, EXPRESSION_FAILED_IN, {"expression": expression.source, "error": str(exc)},
                                    self.origin)]
            except Reject as exc:
                return {}, [exc.problem(key, self.origin)]
        if not parts:
            sources = ", ".join(e.source for e in self.parts)
            return {}, [Problem(key, NO_ADDRESS, {"expressions": sources}, self.origin)]
        try:
            lines = spread(parts, len(self.into), self.max_bytes)
        except AddressTooLong as exc:
            return {}, [exc.problem(key, self.origin)]
        out: dict[str, str] = {}
        for index, name in enumerate(self.into):
            if index < len(lines):
                out[name] = lines[index]
            elif BY_NAME[name].required:
                out[name] = self.filler  # JNE refuses a blank mandatory line; "-" is the honest filler
        return out, []


def parse(settings: dict[str, Any], ctx: LoadContext) -> AddressRule | None:
    """Check the address settings and compile its expressions."""
    sources = settings["from"]
    if isinstance(sources, str):
        sources = [sources]
    parts: list[Expression] = []
    if not isinstance(sources, list) or not sources:
        ctx.problem("from: needs a list of expressions (address1, address2, ...)")
    else:
        for index, source in enumerate(sources):
            expression = ctx.expression(source, "from", index)
            if expression is not None:
                parts.append(expression)
    into = settings["into"]
    if not isinstance(into, list | tuple) or not into:
        ctx.problem("into: needs a list of JNE address fields", "into")
        into = []
    for name in into:
        if name not in BY_NAME:
            ctx.problem(f"unknown JNE field {suggest(text_of(name), FIELD_NAMES)}", "into")
    limits = [BY_NAME[n].max_bytes or 85 for n in into if n in BY_NAME]
    max_bytes = settings["max_bytes"]
    if max_bytes is None:
        max_bytes = min(limits) if limits else 85
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 10:
        ctx.problem("max_bytes: needs a whole number of at least 10", "max_bytes")
    elif limits and max_bytes > min(limits):
        ctx.problem(f"max_bytes: {max_bytes} is more than JNE takes ({min(limits)})", "max_bytes")
    filler = settings["filler"]
    if isinstance(filler, list | dict) or not text_of(filler).strip():
        ctx.problem("filler: needs a non-blank text such as '-'", "filler")
    steps = ctx.steps(settings["then"], "then")
    if ctx.failed or steps is None:
        return None
    return AddressRule(ctx.origin(), tuple(parts), tuple(into), max_bytes, steps, text_of(filler))


KIND = RuleKind(
    name="address",
    settings={"from": None, "into": DEFAULT_INTO, "max_bytes": None, "then": None, "filler": "-"},
    fills=DEFAULT_INTO,
    parse=parse,
)
