"""Declarative mapping files: turn a Shopify or WooCommerce order into JNE pickup/cashless fields.

``load_mapping(path, tables=None)`` reads and checks a mapping (raising ``ConfigError`` with one line
per problem); ``Mapping.apply(order, store, event, now)`` maps one order into a ``MappingResult``
(the fields, and what is wrong as ``Problem`` values) without ever raising. The language is
described in docs/mapping.md.

The package: ``language/`` (expressions, their compiled form, transforms, values), ``rules/`` (the
trigger and the rule plug-ins with their registry), ``files/`` (YAML with line numbers, ``extends``,
CSV tables, the loader) and ``engine.py`` (a loaded mapping applied to one order).
"""

from integration.mapping.engine import Mapping, MappingResult
from integration.mapping.files.loader import load_mapping

__all__ = ["Mapping", "MappingResult", "load_mapping"]
