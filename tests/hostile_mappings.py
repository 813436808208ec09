"""Hostile mapping files and orders for the mapping-budget tests and benchmarks (issue 14).

- ``doubling_mapping(levels)``: a valid mapping whose var ``v<n>`` is ``v<n-1>`` twice: 28 lines
  for 26 levels, a 2**26-fold string (the issue measured 3.7 GB for one preview).
- ``many_vars_mapping(count)``: ``count`` vars each reading the one before (73 s to check 20,000).
- ``big_accented_order(size)``: the shared Shopify COD example whose address is ``size`` bytes of
  accented street text with no space (39 s to map 2 MB).
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "tests" / "fixtures" / "examples" / "shopify_cod.body"
SHOPIFY_MAPPING = ROOT / "mappings" / "shopify.yaml"


def doubling_mapping(levels: int) -> str:
    """extends the real Shopify mapping (``write_beside_mappings``); SPECIAL_INS reads var v<levels>, each var doubling the last."""
    lines = ["extends: shopify.yaml", "vars:", '  v0: "order.note || \'ab\'"']
    lines += [f'  v{i}: "concat(vars.v{i - 1}, vars.v{i - 1})"' for i in range(1, levels + 1)]
    lines += ["fields:", f"  SPECIAL_INS: {{value: vars.v{levels}, then: [{{max_bytes: 60}}]}}"]
    return "\n".join(lines) + "\n"


def many_vars_mapping(count: int) -> str:
    """extends the real Shopify mapping with ``count`` chained vars, the last one used by a field."""
    lines = ["extends: shopify.yaml", "vars:", '  w0: "order.note || \'-\'"']
    lines += [f"  w{i}: vars.w{i - 1}" for i in range(1, count)]
    lines += ["fields:", f"  SPECIAL_INS: {{value: vars.w{count - 1}, then: [{{max_bytes: 60}}]}}"]
    return "\n".join(lines) + "\n"


def write_beside_mappings(directory: Path, name: str, text: str) -> Path:
    """Write ``text`` as ``directory/name`` next to a copy of the real mappings (extends is relative)."""
    directory.mkdir(parents=True, exist_ok=True)
    for source in SHOPIFY_MAPPING.parent.iterdir():
        if source.is_file() and not (directory / source.name).exists():
            (directory / source.name).write_bytes(source.read_bytes())
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def big_accented_order(size: int) -> dict:
    """The Shopify COD example with an address of about ``size`` bytes of accented street names."""
    order = json.loads(EXAMPLE.read_bytes())
    piece = "JalanPemudaÑusantaraGgÉmileCaféSeñayan"  # one unbroken word: the slow case
    address = piece * (size // len(piece.encode("utf-8")) + 1)
    order["shipping_address"]["address1"] = address
    order["shipping_address"]["address2"] = address[: len(address) // 4]
    return order
