"""The address rule: spread the receiver's address parts over JNE's address lines without losing any.

JNE takes three address lines of at most 85 bytes. Each part (address1, address2, company...)
starts a new line and a long part wraps at a word boundary, like the checkout form; when that
needs too many lines, short neighbouring parts share a line (joined by ", "); failing that, the
words are packed as tightly as they go, and a single word longer than a line is split hard. Nothing is silently dropped: an address that still does not fit is an error with its size.
"""

from __future__ import annotations

from integration.mapping.files.tables import normalise_key


class AddressTooLong(ValueError):
    """The address needs more lines than there are; ``str()`` says how big it is and the limit."""


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _cut(text: str, limit: int) -> tuple[str, str]:
    """Split ``text`` after at most ``limit`` bytes, on a character boundary."""
    head = text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")
    if not head:  # a single character wider than the limit cannot be split further
        head = text[0]
    return head, text[len(head):]


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
        total = _size(", ".join(parts))
        raise AddressTooLong(f"the address is {total} bytes; {lines} lines of {max_bytes} bytes "
                             f"({lines * max_bytes} bytes) cannot hold it (split at word boundaries it "
                             f"needs {len(packed)} lines): shorten it")
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
    for word in words:
        if _size(word) > max_bytes:  # one huge "word" (a pasted URL, no spaces): split it hard
            if line:
                out.append(line)
            rest = word
            while _size(rest) > max_bytes:
                head, rest = _cut(rest, max_bytes)
                out.append(head)
            line = rest
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
