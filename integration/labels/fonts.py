"""The label font: a TrueType font the machine already has, embedded in the PDF; Helvetica otherwise.

Receiver names are not always ASCII, and the PDF's built-in Helvetica has no glyphs beyond Latin-1.
DejaVu Sans (Debian's fonts-dejavu-core, present wherever fontconfig is) covers Latin, Greek and
Cyrillic and is embedded (as a subset) so the label prints the same on any printer. No font file is
shipped with this repository: it is looked up at run time through reportlab's own TrueType search
path, then through fontconfig's ``fc-match``.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
from dataclasses import dataclass

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont

log = logging.getLogger(__name__)

CANDIDATES = ("DejaVuSans", "LiberationSans-Regular", "NotoSans-Regular", "FreeSans")
BOLD = {"DejaVuSans": "DejaVuSans-Bold", "LiberationSans-Regular": "LiberationSans-Bold",
        "NotoSans-Regular": "NotoSans-Bold", "FreeSans": "FreeSansBold"}
FALLBACK = ("Helvetica", "Helvetica-Bold")


@dataclass(frozen=True)
class LabelFonts:
    """The regular and bold font names registered with reportlab, and whether they cover Unicode."""

    regular: str
    bold: str
    unicode: bool


_lock = threading.Lock()
_chosen: list[LabelFonts] = []


def _register(name: str, file: str) -> bool:
    try:
        pdfmetrics.registerFont(TTFont(name, file))
    except (TTFError, OSError):
        return False
    return True


def _fc_match(family: str) -> str | None:
    tool = shutil.which("fc-match")
    if tool is None:
        return None
    try:
        got = subprocess.run([tool, "-f", "%{file}", family], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    path = got.stdout.strip()
    return path if got.returncode == 0 and path.lower().endswith(".ttf") else None


def label_fonts() -> LabelFonts:
    """Register (once per process) and return the fonts labels are drawn with."""
    with _lock:
        if _chosen:
            return _chosen[0]
        fonts = _find()
        _chosen.append(fonts)
        return fonts


def _find() -> LabelFonts:
    for stem in CANDIDATES:
        regular = f"Label-{stem}"
        # reportlab resolves a bare file name through rl_config.TTFSearchPath (the system font dirs).
        if _register(regular, f"{stem}.ttf"):
            bold = f"Label-{BOLD[stem]}"
            if not _register(bold, f"{BOLD[stem]}.ttf"):
                bold = regular
            return LabelFonts(regular, bold, True)
    found = _fc_match("DejaVu Sans")
    if found and _register("Label-fc", found):
        bold = _fc_match("DejaVu Sans:bold")
        return LabelFonts("Label-fc", "Label-fc-bold" if bold and _register("Label-fc-bold", bold)
                          else "Label-fc", True)
    log.warning("no TrueType font found (install fonts-dejavu-core); labels use Helvetica, "
                "which cannot draw characters beyond Latin-1")
    return LabelFonts(*FALLBACK, False)
