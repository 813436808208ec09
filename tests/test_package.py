"""The package stands alone: what setup.cfg ships, where the demo reads its defaults, what imports pull in.

The full proof, a built wheel installed (not editable) in a fresh venv and run from an empty
directory, is in ``.ci/run``; these tests catch the mistakes that would break it, quickly and by name.
"""

from __future__ import annotations

import configparser
import fnmatch
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path

from integration.config import DEFAULTS_PACKAGE, defaults_dir, load_config

ROOT = Path(__file__).resolve().parents[1]
SETUP = configparser.ConfigParser()
SETUP.read(ROOT / "setup.cfg", encoding="utf-8")


def _listed(section: str, key: str) -> list[str]:
    return [line.strip() for line in SETUP[section][key].splitlines() if line.strip()]


def test_every_package_under_integration_is_listed_in_setup_cfg():
    found = {".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "integration").rglob("__init__.py")}
    listed = set(_listed("options", "packages"))
    missing = sorted(found - listed)
    assert not missing, f"add to [options] packages in setup.cfg, or the wheel leaves them out: {missing}"
    assert listed - found == {DEFAULTS_PACKAGE}


def test_the_defaults_package_is_the_mappings_folder():
    package_dir = dict(line.replace(" ", "").split("=", 1) for line in _listed("options", "package_dir"))
    assert package_dir == {DEFAULTS_PACKAGE: "mappings"}
    patterns = [p.strip() for p in SETUP["options.package_data"][DEFAULTS_PACKAGE].split(",")]
    shipped = sorted(p.name for p in (ROOT / "mappings").iterdir()
                     if any(fnmatch.fnmatch(p.name, pat) for pat in patterns))
    data = sorted(p.name for p in (ROOT / "mappings").iterdir() if p.is_file() and p.suffix != ".py")
    assert shipped == data  # a new default file that no pattern ships would be missing when installed
    assert {"shopify.yaml", "woocommerce.yaml", "jne_destinations.csv", "hs_codes.csv"} <= set(shipped)


def test_the_demo_reads_its_mappings_through_importlib_resources(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an empty directory: nothing relative to the working directory
    monkeypatch.delenv("JNE_INTEGRATION_CONFIG", raising=False)
    folder = defaults_dir()
    assert folder == resources.files(DEFAULTS_PACKAGE)
    config = load_config(env={})
    assert config.is_demo
    for store in config.stores.values():
        assert store.mapping_path.parent == folder.resolve()
        assert store.mapping_path.read_bytes() == (ROOT / "mappings" / store.mapping_path.name).read_bytes()


def test_reading_the_jne_field_table_needs_neither_flask_nor_requests():
    code = ("import sys, integration.jne.fields; "
            "assert 'flask' not in sys.modules and 'requests' not in sys.modules")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


# -- nothing outside the repository --------------------------------------------------------------

_OUTSIDE = [
    re.compile(r"\.\./shared(?!/real-orders)"),  # the corpus of real orders is the one exception
    re.compile(r"(?<![\w.])/work/"),
    re.compile(r"""Path\(\s*["']/"""),
]
_TEXT = {".py", ".md", ".cfg", ".toml", ".yaml", ".yml", ".txt", ".json", ".ini", ".mako", ".csv", ""}


def test_no_file_names_a_path_outside_the_repository():
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    files = [ROOT / name for name in tracked.decode().split("\0") if name]
    scanned = [p for p in files if p.suffix in _TEXT and p.is_file() and p != Path(__file__).resolve()]
    assert len(scanned) > 50  # the scan really read the repository
    hits = [f"{p.relative_to(ROOT)}:{n}: {line.strip()}" for p in scanned
            for n, line in enumerate(p.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
            if any(pattern.search(line) for pattern in _OUTSIDE)]
    assert not hits, "paths outside the repository:\n" + "\n".join(hits)
