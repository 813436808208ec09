"""Loading mappings: every mistake reported at load with file, rule and line; extends; table paths."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from integration.errors import ConfigError
from integration.mapping import Mapping, load_mapping

NOW = datetime(2025, 3, 14, 1, 0, tzinfo=UTC)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(path: Path, **kwargs) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_mapping(path, **kwargs)
    return caught.value.problems


def one_problem(path: Path, **kwargs) -> str:
    found = problems(path, **kwargs)
    assert len(found) == 1, found
    return found[0]


# -- one message per kind of mistake, with file, rule and line ---------------------------------

def test_unknown_transform_names_file_rule_line_and_the_known_transforms(tmp_path):
    path = write(tmp_path, "shop.yaml", """\
        fields:
          ORDER_ID: order.name
          RECEIVER_NAME:
            value: order.shipping_address.name
            then: [uper, {max_bytes: 30}]
        """)
    message = one_problem(path)
    assert message.startswith(f"{path}:5: fields.RECEIVER_NAME: unknown transform 'uper' (known: upper, lower, trim")


def test_relative_path_is_shown_as_given(tmp_path, monkeypatch):
    write(tmp_path, "mappings/shop.yaml", "fields:\n  RECEIVER_NAME: {value: order.name, then: [uper]}\n")
    monkeypatch.chdir(tmp_path)
    assert one_problem(Path("mappings/shop.yaml")).startswith(
        "mappings/shop.yaml:2: fields.RECEIVER_NAME: unknown transform 'uper'")


@pytest.mark.parametrize("text,line,needle", [
    ("fields:\n  RECEVER_NAME: order.name\n", 2,
     "fields.RECEVER_NAME: unknown JNE field 'RECEVER_NAME', did you mean 'RECEIVER_NAME'?"),
    ("fields:\n  ORDER_ID: \"uper(order.name)\"\n", 2,
     "fields.ORDER_ID: unknown function uper(), did you mean upper()? (known: abs, avg, buyer_collects, ceil, concat"),
    ("fields:\n  ORDER_ID: \"order.name ||\"\n", 2, "fields.ORDER_ID: bad expression: the expression ends too early"),
    ("fields:\n  ORDER_ID: \"contains(order.name)\"\n", 2, "contains() takes 2 argument(s), got 1"),
    ("fields:\n  ORDER_ID: ordr.name\n", 2, "unknown name 'ordr', did you mean 'order'? (expressions start with one of: order, store"),
    ("fields:\n  INSURANCE_FLAG: N\n", 2, "unknown name 'N'"),
    ("fields:\n  ORDER_ID: vars.prefix\n", 2, "unknown variable 'vars.prefix' (known: none defined)"),
    ("fields:\n  ORDER_ID:\n    value: order.name\n    then:\n      - {max_bytes: big}\n", 5,
     "fields.ORDER_ID: max_bytes: needs a whole number of bytes above 0, got 'big'"),
    ("fields:\n  ORDER_ID: {value: order.name, then: [{lookup: zips}]}\n", 2,
     "fields.ORDER_ID: lookup: unknown table 'zips' (known: none declared under tables:)"),
    ("fields:\n  ORDER_ID: {value: order.name, vaule: x}\n", 2, "unknown key 'vaule', did you mean 'value'?"),
    ("fields:\n  ORDER_ID: {value: order.name, const: X}\n", 2, "needs exactly one of value:"),
    ("fields:\n  ORDER_ID: 42\n", 2, "write {value: EXPRESSION} or {const: 42}"),
    ("feilds:\n  ORDER_ID: order.name\n", 1, "feilds: unknown top-level key 'feilds', did you mean 'fields'?"),
    ("fields: [ORDER_ID]\n", 1, "fields: must be a set of named entries"),
    ("trigger:\n  book: \"event.topic == 'x'\"\n", 2, "trigger.book: unknown key 'book'"),
    ("trigger:\n  skip_when:\n    test: \"order.test ==\"\n", 3, "trigger.skip_when.test: bad expression"),
    ("rules:\n  adress: {from: [order.a]}\n", 2, "rules.adress: unknown rule 'adress', did you mean 'address'?"),
    ("rules:\n  address:\n    from: [order.a]\n    max_bytes: 120\n", 4, "max_bytes: 120 is more than JNE takes (85)"),
    ("rules:\n  address:\n    into: [RECEIVER_ADDR1]\n", 2, "rules.address: from: needs a list of expressions"),
    ("rules:\n  cod: {when: vars.is_cod}\n", 2, "unknown variable 'vars.is_cod'"),
    ("rules:\n  batam: {max_codes: 6}\n", 2, "max_codes: needs a whole number from 1 to 5"),
    ("rules:\n  batam: {sku_table: skus}\n", 2, "rules.batam: unknown table 'skus'"),
    ("fields:\n  ORDER_ID: a\n  ORDER_ID: b\n", 3, "fields.ORDER_ID: written twice"),
    ("fields:\n  ORDER_ID: {value: order.name, default: ''}\n", 2, "default: needs a non-blank text"),
])
def test_each_kind_of_mistake(tmp_path, text, line, needle):
    path = write(tmp_path, "m.yaml", text)
    found = problems(path)
    assert any(p.startswith(f"{path}:{line}: ") and needle in p for p in found), found


def test_bad_yaml_gives_the_line(tmp_path):
    path = write(tmp_path, "m.yaml", "fields:\n  ORDER_ID: order.name\n  RECEIVER_NAME: [unclosed\n")
    message = one_problem(path)
    assert message.startswith(f"{path}:") and "not valid YAML" in message


def test_top_level_must_be_keys(tmp_path):
    assert "top level must be keys" in one_problem(write(tmp_path, "m.yaml", "- a\n- b\n"))


def test_every_problem_is_reported_at_once(tmp_path):
    path = write(tmp_path, "m.yaml", """\
        fields:
          RECEIVER_NAME: {value: order.name, then: [uper]}
          FOO: order.x
          ORDER_ID: "order.name ||"
        tables:
          destinations: {file: missing.csv}
        """)
    found = problems(path)
    assert len(found) == 4
    assert [p.split(":")[1] for p in found] == ["6", "2", "3", "4"]


def test_field_and_rule_producing_the_same_field_conflict(tmp_path):
    path = write(tmp_path, "m.yaml", """\
        fields:
          COD_FLAG: {const: "NO"}
        rules:
          cod: {when: "order.cod", amount: order.total}
        """)
    assert "fields.COD_FLAG: also produced by rules.cod" in one_problem(path)


def test_yes_and_no_stay_text_and_leading_zeros_stay_digits(tmp_path):
    path = write(tmp_path, "m.yaml", """\
        fields:
          COD_FLAG: {const: NO}
          INSURANCE_FLAG: {const: N}
          SHIPPER_ZIP: {const: 01234}
          PICKUP_TIME: {const: 16:00}
        """)
    result = load_mapping(path).apply({}, {}, {}, NOW)
    assert result.fields == {"PICKUP_TIME": "16:00", "SHIPPER_ZIP": "01234", "INSURANCE_FLAG": "N",
                             "COD_FLAG": "NO"}


# -- tables --------------------------------------------------------------------------------------

def test_missing_table_file_and_missing_column_are_load_errors(tmp_path):
    write(tmp_path, "bad.csv", "zip,kota,code\n1,A,B\n")
    path = write(tmp_path, "m.yaml", """\
        tables:
          destinations: {file: nope.csv}
          hs_codes: {file: bad.csv, keys: [sku], value: hs_code}
        """)
    found = problems(path)
    assert found[0].startswith(f"{path}:2: tables.destinations: table 'destinations': file ")
    assert found[0].endswith("nope.csv does not exist")
    assert found[1].startswith(f"{path}:3: tables.hs_codes: ") and "has no column 'sku', 'hs_code'" in found[1]


def test_table_paths_may_not_leave_the_mapping_folder(tmp_path):
    write(tmp_path, "secret.csv", "zip,code\n1,X\n")
    path = write(tmp_path, "maps/m.yaml", "tables:\n  destinations: {file: ../secret.csv}\n")
    assert "outside the mapping's folder" in one_problem(path)
    path = write(tmp_path, "maps/n.yaml", f"tables:\n  destinations: {{file: {tmp_path / 'secret.csv'}}}\n")
    assert "outside the mapping's folder" in one_problem(path)


def test_tables_argument_overrides_and_adds_tables_by_name(tmp_path):
    write(tmp_path, "maps/jne.csv", "zip,city,district,code\n12730,JAKARTA SELATAN,,CGK10000\n")
    other = write(tmp_path, "elsewhere/dest.csv", "zip,city,district,code\n12730,JAKARTA SELATAN,,CGK99999\n")
    skus = write(tmp_path, "elsewhere/hs.csv", "sku,hs_code\nA,0901.21\n")
    path = write(tmp_path, "maps/m.yaml", """\
        tables:
          destinations: {file: jne.csv}
        fields:
          DESTINATION_CODE: {value: order.zip, then: [{lookup: destinations}]}
          HS_CODE: {value: order.sku, then: [{lookup: hs_codes}]}
        """)
    assert "unknown table 'hs_codes'" in one_problem(path)
    mapping = load_mapping(path, tables={"destinations": other, "hs_codes": str(skus)})
    result = mapping.apply({"zip": "12730", "sku": "a"}, {}, {}, NOW)
    assert result.fields["DESTINATION_CODE"] == "CGK99999"
    assert mapping.tables["hs_codes"].lookup("A") == "0901.21"


def test_a_missing_table_given_by_integration_yaml_is_reported(tmp_path):
    path = write(tmp_path, "m.yaml", "fields: {INSURANCE_FLAG: {const: N}}\n")
    message = one_problem(path, tables={"destinations": tmp_path / "gone.csv"})
    assert "gone.csv does not exist" in message


def test_the_default_mappings_load_with_their_tables():
    root = Path(__file__).resolve().parents[1] / "mappings"
    for name in ("shopify.yaml", "woocommerce.yaml"):
        mapping = load_mapping(root / name)
        assert isinstance(mapping, Mapping)
        assert mapping.platform == name.removesuffix(".yaml")
        assert {"hs_codes", "regions"} <= set(mapping.tables)
        # no sample destinations table: rules.destination resolves through JNE's list and the regions
        assert "destinations" not in mapping.tables and mapping.rule("destination") is not None


def test_a_missing_mapping_file(tmp_path):
    assert one_problem(tmp_path / "none.yaml").endswith("mapping file does not exist")
