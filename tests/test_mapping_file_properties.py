"""Property: any mapping file loads or names file and line, and maps within a memory and CPU bound.

The generated files (tests/mapping_file_properties.py) chain vars that double at every step; the
hypothesis run happens in a child interpreter under RLIMIT_AS (1 GiB) and RLIMIT_CPU, so a value
that escapes its bound ends the child (and fails this test) instead of taking the machine down.
"""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
MEMORY = 1024 * 1024 * 1024
CPU_S = 300  # the whole hypothesis run of 60 files; each order maps in milliseconds to a second


def test_any_mapping_file_loads_or_names_file_and_line_within_memory_and_cpu_bounds():
    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
        resource.setrlimit(resource.RLIMIT_CPU, (CPU_S, CPU_S))

    code = ("import sys; sys.path.insert(0, sys.argv[1]); import mapping_file_properties as p; "
            "p.any_mapping_file_loads_or_names_file_and_line(); print('held')")
    proc = subprocess.run([sys.executable, "-c", code, str(TESTS)], capture_output=True, text=True,
                          preexec_fn=limits, timeout=CPU_S * 4)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("held"), proc.stderr[-4000:]
