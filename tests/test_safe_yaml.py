"""YAML with a budget (issue 14): alias bombs, deep nesting, huge files, control characters in keys.

The bombs run in a subprocess under a memory limit (RLIMIT_AS) and a timeout, through the installed
``jne-integration check``: before the budget, seven levels of "billion laughs" took 3.8 GB and 28 s,
and 500 levels of nesting printed a 2,990-line RecursionError traceback.
"""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from app_helpers import write_config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integration import safe_yaml
from integration.config import load_config
from integration.errors import ConfigError

MEMORY_LIMIT = 1024 * 1024 * 1024  # 1 GiB of address space: the CLI needs ~300 MB, a bomb many GB
CLI = Path(sys.executable).parent / "jne-integration"


def laughs(levels: int, prefix: str = "") -> str:
    """The classic "billion laughs": each level nine aliases of the one before."""
    lines = [f'{prefix}l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels + 1):
        lines.append(f"{prefix}l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]")
    return "\n".join(lines) + "\n"


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def check_in_subprocess(config: Path) -> subprocess.CompletedProcess[str]:
    """``jne-integration check --config`` under the memory limit, at most 120 s."""
    return subprocess.run([str(CLI), "check", "--config", str(config)], capture_output=True, text=True,
                          timeout=120, preexec_fn=_limit_memory, cwd=config.parent)


def config_text(tmp_path: Path) -> str:
    """A valid integration.yaml (the test stores) as text."""
    return write_config(tmp_path, f"sqlite:///{tmp_path / 'l.db'}").read_text(encoding="utf-8")


def test_an_alias_bomb_in_integration_yaml_is_a_load_error_naming_file_and_line(tmp_path):
    path = tmp_path / "integration.yaml"
    bomb = laughs(9, prefix="x_")
    path.write_text(config_text(tmp_path) + bomb, encoding="utf-8")
    bomb_line = len(path.read_text().splitlines()) - 9 + 4  # the level whose aliases cross 10,000
    proc = check_in_subprocess(path)
    assert proc.returncode == 1, proc.stderr
    out = proc.stdout + proc.stderr
    assert f"{path}:{bomb_line}: aliases expand to more than 10,000 values" in out
    assert "Traceback" not in out and "MemoryError" not in out


def test_deep_nesting_in_integration_yaml_is_a_load_error_not_a_recursion_error(tmp_path):
    path = tmp_path / "integration.yaml"
    path.write_text(config_text(tmp_path) + "deep: " + "[" * 500 + "]" * 500 + "\n", encoding="utf-8")
    proc = check_in_subprocess(path)
    assert proc.returncode == 1
    out = proc.stdout + proc.stderr
    assert "nested more than 64 levels deep" in out and str(path) in out
    assert "Traceback" not in out and "RecursionError" not in out


def test_a_huge_integration_yaml_is_refused_before_it_is_read_whole(tmp_path):
    path = tmp_path / "integration.yaml"
    with path.open("w", encoding="utf-8") as handle:
        handle.write(config_text(tmp_path))
        handle.write("# padding\n" * 300_000)
    with pytest.raises(ConfigError, match=r"integration\.yaml:1: .*larger than 2,097,152 bytes"):
        load_config(path)


def test_a_nul_in_a_key_is_refused_with_file_and_line(tmp_path):
    path = tmp_path / "integration.yaml"
    text = config_text(tmp_path)
    path.write_text(text + '"x\\0y": 1\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    line = len(text.splitlines()) + 1
    assert str(err.value) == (f"{path}:{line}: the key 'x\\x00y' holds a control or invisible character; "
                              "keys must be plain text")


@pytest.mark.parametrize("key", ["a\\x1b]0;owned\\x07", "\\u202eevil", "del\\x7f", "c1\\x9b"])
def test_control_and_bidi_characters_in_keys_are_refused(key):
    with pytest.raises(safe_yaml.YAMLBudgetError) as err:
        safe_yaml.parse(f'ok: 1\n"{key}": 2\n', "m.yaml")
    assert safe_yaml.describe(err.value, "m.yaml").startswith("m.yaml:2: the key ")


def test_a_recursive_alias_is_refused():
    with pytest.raises(safe_yaml.YAMLBudgetError) as err:
        safe_yaml.parse("a: &x\n  b: [1, *x]\n", "m.yaml")
    assert safe_yaml.describe(err.value, "m.yaml") == (
        "m.yaml:2: the alias *x refers to the block that contains it; a recursive document is not accepted")


def test_modest_aliases_still_load():
    text = "pickup: &p {name: TOKO, city: JAMBI}\nstores:\n" + "".join(
        f"  s{i}: {{pickup: *p}}\n" for i in range(300))
    node, data = safe_yaml.parse(text, "c.yaml")
    assert node is not None and data["stores"]["s299"]["pickup"] == {"name": "TOKO", "city": "JAMBI"}


def test_aliases_may_at_most_double_a_large_file():
    block = "big: &b {" + ", ".join(f"k{i}: v" for i in range(5_500)) + "}\n"  # 11,001 values
    assert safe_yaml.parse(block + "copy: *b\n", "c.yaml")[1]["copy"]["k5499"] == "v"
    with pytest.raises(safe_yaml.YAMLBudgetError) as err:
        safe_yaml.parse(block + "copy: *b\nagain: *b\n", "c.yaml")
    assert safe_yaml.describe(err.value, "c.yaml").startswith("c.yaml:3: aliases expand to more than 11,00")


def test_a_very_long_integer_is_refused_with_its_line():
    with pytest.raises(safe_yaml.YAMLBudgetError) as err:
        safe_yaml.parse("a: 1\nb: " + "9" * 5000 + "\n", "c.yaml")
    assert safe_yaml.describe(err.value, "c.yaml").startswith("c.yaml:2: a number of 5,000 digits")


def test_syntax_errors_name_file_and_line(tmp_path):
    path = tmp_path / "integration.yaml"
    path.write_text("database_url: x\njne: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"^{path}:\d+: not valid YAML: "):
        load_config(path)


def test_only_safe_loaders_are_accepted():
    with pytest.raises(TypeError):
        safe_yaml.budgeted(yaml.Loader)  # type: ignore[arg-type]  # builds Python objects


def test_the_mapping_loader_keeps_its_yaml_12_scalars_under_the_budget():
    from integration.mapping.files.source import _MappingLoader

    node, data = safe_yaml.parse("COD_FLAG: {const: YES}\nzip: 0812\n", "m.yaml", loader_class=_MappingLoader)
    assert data == {"COD_FLAG": {"const": "YES"}, "zip": "0812"}
    assert node is not None


def test_an_alias_bomb_in_a_mapping_file_is_a_load_error(tmp_path):
    config = tmp_path / "integration.yaml"
    config.write_text(config_text(tmp_path), encoding="utf-8")
    mapping = yaml.safe_load(config.read_text())["stores"]["toko-shopify"]["mapping"]
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(Path(mapping).read_text(encoding="utf-8") + laughs(5, prefix="x_"), encoding="utf-8")
    config.write_text(config.read_text().replace(mapping, str(bomb)), encoding="utf-8")
    proc = check_in_subprocess(config)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "aliases expand to more than 10,000 values" in out, out[-2000:]


# -- property: any YAML-ish text either loads or fails with file and line, never anything else --

scalars = st.one_of(st.integers(-10**6, 10**6).map(str), st.sampled_from(["yes", "~", "1e9", ".nan", "0812"]),
                    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8).map(
                        lambda t: '"' + t.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"'))


@st.composite
def documents(draw: st.DrawFn) -> str:
    """Random YAML built from keys, nesting, anchors and aliases (flow style, so any depth is one line)."""
    anchors: list[str] = []

    def value(depth: int) -> str:
        kind = draw(st.sampled_from(["scalar", "list", "map", "alias", "anchor"] if depth < 90 else ["scalar"]))
        if kind == "alias" and anchors:
            return "*" + draw(st.sampled_from(anchors))
        if kind == "anchor":
            name = f"a{len(anchors)}"
            inner = value(depth + 1)
            anchors.append(name)
            return f"&{name} [{inner}, {inner}]"
        if kind == "list":
            return "[" + ", ".join(value(depth + 1) for _ in range(draw(st.integers(0, 4)))) + "]"
        if kind == "map":
            keys = draw(st.lists(scalars, max_size=4, unique=True))
            return "{" + ", ".join(f"{k}: {value(depth + 1)}" for k in keys) + "}"
        return draw(scalars)

    lines = [f"k{i}: {value(draw(st.integers(0, 80)))}" for i in range(draw(st.integers(1, 6)))]
    return "\n".join(lines) + "\n"


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_any_document_loads_or_fails_naming_file_and_line(text):
    try:
        safe_yaml.parse(text, "gen.yaml")
    except yaml.YAMLError as exc:
        message = safe_yaml.describe(exc, "gen.yaml")
        assert message.startswith("gen.yaml:") and message.split(":")[1].isdigit(), message


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(documents())
def test_any_config_file_loads_or_every_problem_names_the_file(tmp_path, text):
    path = tmp_path / "integration.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_config(path)
    except ConfigError as exc:
        assert exc.problems and all(str(path) in p for p in exc.problems), exc.problems
