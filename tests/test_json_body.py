"""integration.json_body reads every body exactly as json.loads does, only faster."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integration import json_body

_scalars = (st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30)
            | st.floats(allow_nan=False, allow_infinity=False) | st.text())
_documents = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=5)
                          | st.dictionaries(st.text(max_size=8), inner, max_size=5), max_leaves=30)


def _same(a, b) -> bool:
    """Equal values of equal types all the way down (1 and 1.0 are not the same order id)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


@settings(max_examples=300, deadline=None)
@given(_documents, st.booleans())
def test_any_document_reads_as_json_loads_reads_it(doc, ascii_only):
    body = json.dumps(doc, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    try:
        expected = json.loads(body)
    except ValueError:
        with pytest.raises(ValueError):
            json_body.loads(body)
        return
    assert _same(json_body.loads(body), expected)


@pytest.mark.parametrize("body", [
    b'{"id": 123456789012345678901234567890}',      # orjson alone would give a float
    b'{"id": -9223372036854775809}',                # one below the 64-bit range
    b'{"id": 18446744073709551615, "n": 1.5}',      # the largest unsigned 64-bit integer
    b'{"note": "\\ud800"}',                          # an escaped lone surrogate
    b'{"total": NaN, "max": Infinity}',
    b'\xef\xbb\xbf{"id": 1}',                        # a byte order mark
    '{"id": 1, "name": "Budi"}'.encode("utf-16"),    # json.loads detects UTF-16 and 32
    b'{"a": 1, "a": 2}',
    b'{"price": "00000000000000000000123"}',         # a long digit run inside a string
])
def test_the_corners_where_orjson_differs_read_as_json_loads_reads_them(body):
    assert _same(json_body.loads(body), json.loads(body))


@pytest.mark.parametrize("body", [b"", b"{", b"[1,]", b"\xff\xfe\x00", b'{"a": 1} x', b"[" * 5000 + b"]" * 5000])
def test_what_json_loads_refuses_is_refused_the_same_way(body):
    with pytest.raises((ValueError, RecursionError)) as expected:
        json.loads(body)
    with pytest.raises(expected.type):
        json_body.loads(body)
