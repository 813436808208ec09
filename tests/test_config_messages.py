"""Every configuration mistake of issue 15 gets a message with the file, the line and the fix, all at once.

The mistakes are the ones a store owner made following the README: unquoted numbers YAML changes
(``cust_id: 01234567`` became CUST_ID 342391), an unquoted time, values in the wrong case or in
Indonesian, a misspelt key, a wrong mapping path, a misspelt ``store.*`` path in a mapping, and
the same through ``jne-integration check``.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from integration.cli import main
from integration.config import load_config
from integration.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
ENV = {"TOKO_SECRET": "s3cret-toko-0123456789", "JNE_API_KEY": "k3y-value-0123456789"}

GOOD = """\
database_url: sqlite:///ledger.db
jne:
  url: http://127.0.0.1:9/pickupcashless
  username: TOKOALI
  api_key: ${JNE_API_KEY}
stores:
  toko-ali:
    platform: shopify
    shop: toko-ali.myshopify.com
    webhook_secret: ${TOKO_SECRET}
    mapping: mappings/shopify.yaml
    order_prefix: ALI
    account:
      cust_id: "10950700"
      branch: CGK000
      merchant_id: TOKOALI
      origin_code: CGK10000
    pickup:
      name: TOKO ALI
      pic: ALI
      phone: "+6281234567890"
      address: JL. D.I PANJAITAN NO 43
      district: JELUTUNG
      city: JAMBI
      vehicle: MOTOR
      cutoff: "15:00"
      days: [mon, tue, wed]
    shipper:
      name: TOKO ALI
      addr1: JL. D.I PANJAITAN NO 43
      city: JAMBI
      zip: "36124"
      region: JAMBI
      contact: ALI
      phone: "+6281234567890"
"""


def shop(tmp_path: Path, text: str, mapping_extra: str | None = None) -> Path:
    """integration.yaml (``text``) beside a copy of the default mappings; optionally an owner's mapping."""
    shutil.copytree(ROOT / "mappings", tmp_path / "mappings", dirs_exist_ok=True)
    if mapping_extra is not None:
        (tmp_path / "mappings" / "toko.yaml").write_text(mapping_extra, encoding="utf-8")
    path = tmp_path / "integration.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load_config(path, env=ENV)
    return err.value.problems


def line_of(text: str, needle: str) -> int:
    return next(i for i, t in enumerate(text.splitlines(), 1) if needle in t)


def test_the_good_file_loads(tmp_path):
    config = load_config(shop(tmp_path, GOOD), env=ENV)
    assert config.stores["toko-ali"].facts["account"]["cust_id"] == "10950700"


@pytest.mark.parametrize(("good", "written", "wanted"), [
    # a leading zero: YAML 1.1 reads an octal number
    ('cust_id: "10950700"', "cust_id: 01234567",
     'write it in quotes: cust_id: "01234567" (unquoted, YAML reads 01234567 as the octal number 342391)'),
    # a time: YAML 1.1 reads base 60
    ('cutoff: "15:00"', "cutoff: 14:00",
     'write times in quotes: cutoff: "14:00" (unquoted, YAML reads 14:00 as the number 840)'),
    # a plus sign, a float, a yes/no: YAML drops what the owner wrote
    ('phone: "+6281234567890"', "phone: +6281234567890",
     'write it in quotes: phone: "+6281234567890" (unquoted, YAML reads +6281234567890 as the number 6281234567890)'),
    ('zip: "36124"', "zip: 36124.10",
     'write it in quotes: zip: "36124.10" (unquoted, YAML reads 36124.10 as the number 36124.1)'),
    ("branch: CGK000", "branch: no", 'write it in quotes: branch: "no" (unquoted, YAML reads no as false)'),
])
def test_values_yaml_would_change_are_written_in_quotes(tmp_path, good, written, wanted):
    text = GOOD.replace(good, written, 1)
    [problem] = problems(shop(tmp_path, text))
    assert problem.startswith(f"{tmp_path / 'integration.yaml'}:{line_of(text, written)}: stores.toko-ali."), problem
    assert problem.endswith(wanted), problem


def test_allowed_values_are_listed_with_the_nearest_one(tmp_path):
    text = GOOD.replace("vehicle: MOTOR", "vehicle: motor").replace("days: [mon, tue, wed]", "days: [senin, rabu]")
    found = problems(shop(tmp_path, text))
    where = f"{tmp_path / 'integration.yaml'}:"
    assert f"{where}{line_of(text, 'vehicle')}: stores.toko-ali.pickup.vehicle: 'motor' is not allowed here, did you " \
           "mean 'MOTOR'? (allowed: MOTOR, MOBIL, TRUCK)" in found
    days = line_of(text, "days:")
    assert f"{where}{days}: stores.toko-ali.pickup.days[0]: 'senin' is not allowed here, did you mean 'mon' " \
           "(senin)? (allowed: mon, tue, wed, thu, fri, sat, sun)" in found
    assert any(p.startswith(f"{where}{days}: stores.toko-ali.pickup.days[1]: 'rabu'") and "'wed' (rabu)" in p
               for p in found)


def test_a_misspelt_key_gets_the_nearest_known_key(tmp_path):
    text = GOOD.replace("order_prefix: ALI", "order_prefx: ALI").replace("vehicle: MOTOR", "vehicel: MOTOR")
    found = problems(shop(tmp_path, text))
    assert any(f":{line_of(text, 'order_prefx')}: stores.toko-ali.order_prefx: unknown key 'order_prefx', did you "
               "mean 'order_prefix'?" in p for p in found), found
    assert any(f":{line_of(text, 'vehicel')}: stores.toko-ali.pickup.vehicel: unknown key 'vehicel', did you mean "
               "'vehicle'?" in p for p in found), found


def test_forms_say_what_they_accept_and_the_case_that_would_fit(tmp_path):
    text = GOOD.replace("order_prefix: ALI", "order_prefix: ali").replace('zip: "36124"', 'zip: "3612"')
    found = problems(shop(tmp_path, text))
    assert any("stores.toko-ali.order_prefix: 'ali' is not 0 to 12 capital letters and digits (A-Z, 0-9), e.g. ALI; "
               "it starts every JNE ORDER_ID, did you mean 'ALI'?" in p for p in found), found
    assert any("stores.toko-ali.shipper.zip: '3612' is not a postal code of 5 digits in quotes" in p for p in found)


def test_every_problem_comes_at_once_a_wrong_mapping_path_with_the_schema_errors(tmp_path):
    text = (GOOD.replace("mapping: mappings/shopify.yaml", "mapping: mappings/shopfy.yaml")
            .replace('cust_id: "10950700"', "cust_id: 01234567").replace("vehicle: MOTOR", "vehicle: motor")
            .replace("platform: shopify", "platform: shopify\n    colour: red"))
    found = problems(shop(tmp_path, text))
    assert len(found) == 4, found
    mapping = next(p for p in found if "mapping" in p.split(": ")[1])
    assert mapping.startswith(f"{tmp_path / 'integration.yaml'}:{line_of(text, 'shopfy')}: stores.toko-ali.mapping: "
                              "'mappings/shopfy.yaml' does not exist, did you mean 'mappings/shopify.yaml'?")
    # in the order of the file, each with its line
    lines = [int(p.split(":")[1]) for p in found]
    assert lines == sorted(lines)


def test_a_broken_mapping_shows_together_with_the_schema_errors(tmp_path):
    text = GOOD.replace("mapping: mappings/shopify.yaml", "mapping: mappings/toko.yaml").replace(
        "vehicle: MOTOR", "vehicle: motor")
    found = problems(shop(tmp_path, text, "extends: shopify.yaml\nfields:\n  RECEIVER_NAM: {value: order.name}\n"))
    assert any("pickup.vehicle: 'motor'" in p for p in found)
    assert any(p.startswith(f"{tmp_path / 'mappings' / 'toko.yaml'}:3: fields.RECEIVER_NAM: unknown JNE field "
                            "'RECEIVER_NAM', did you mean 'RECEIVER_NAME'?") for p in found), found


def test_a_misspelt_store_path_in_a_mapping_is_found_at_load(tmp_path):
    text = GOOD.replace("mapping: mappings/shopify.yaml", "mapping: mappings/toko.yaml")
    found = problems(shop(tmp_path, text, "extends: shopify.yaml\nfields:\n  SHIPPER_NAME: {value: store.shipper.nama}\n"
                                          "  SHIPPER_CITY: {value: store.shiper.city}\n"))
    mapping = tmp_path / "mappings" / "toko.yaml"
    assert any(p.startswith(f"{mapping}:3: fields.SHIPPER_NAME: store.shipper.nama is not in the store block, did "
                            "you mean store.shipper.name? (store.shipper has: addr1, addr2") for p in found), found
    assert any(f"{mapping}:4: fields.SHIPPER_CITY: store.shiper is not in the store block, did you mean store.shipper?"
               in p for p in found), found


def test_store_paths_that_exist_load_and_a_value_has_nothing_inside(tmp_path):
    text = GOOD.replace("mapping: mappings/shopify.yaml", "mapping: mappings/toko.yaml")
    ok = "extends: shopify.yaml\nfields:\n  SPECIAL_INS: {value: \"join(' ', [store.id, store.pickup.days[0]])\"}\n"
    assert load_config(shop(tmp_path, text, ok), env=ENV).stores["toko-ali"].mapping is not None
    bad = "extends: shopify.yaml\nfields:\n  SPECIAL_INS: {value: store.order_prefix.x}\n"
    found = problems(shop(tmp_path, text, bad))
    assert any("store.order_prefix is a single value; it has no 'x' inside" in p for p in found), found


def test_check_prints_each_problem_with_its_line_and_no_traceback(tmp_path):
    text = GOOD.replace('cutoff: "15:00"', "cutoff: 14:00").replace("vehicle: MOTOR", "vehicle: motor")
    path = shop(tmp_path, text)
    result = CliRunner(env=ENV).invoke(main, ["--config", str(path), "check"], catch_exceptions=False)
    assert result.exit_code == 1
    assert f"integration.yaml:{line_of(text, 'cutoff')}: stores.toko-ali.pickup.cutoff: write times in quotes" \
        in result.output
    assert f"integration.yaml:{line_of(text, 'vehicle')}: stores.toko-ali.pickup.vehicle:" in result.output
    assert "Traceback" not in result.output


def test_numbers_with_a_leading_zero_in_number_settings_are_named(tmp_path):
    text = GOOD + textwrap.dedent("""\
        worker:
          concurrency: 010
        """)
    [problem] = problems(shop(tmp_path, text))
    assert problem.endswith("worker.concurrency: 010 is read by YAML as an octal number, 8; write the number "
                            "plainly (no leading zero, no colon)")


def test_a_secret_yaml_would_change_is_named_without_repeating_it(tmp_path):
    text = GOOD.replace("api_key: ${JNE_API_KEY}", "api_key: 0123456712345670")
    [problem] = problems(shop(tmp_path, text))
    assert problem.endswith('jne.api_key: write it in quotes: api_key: "..." (unquoted, YAML reads this value as a '
                            "number and changes it)")
    assert "0123456712345670" not in problem and str(0o123456712345670) not in problem
