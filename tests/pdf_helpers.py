"""Read a PDF the way a person or a scanner would: its text, and the barcodes on its rendered pages.

Text comes from poppler's ``pdftotext`` when it is installed (``apt-get install poppler-utils``),
else from PDFium (the ``pypdfium2`` wheel); pages are rendered with PDFium at 300 dpi and read by
ZXing (``zxing-cpp``), the decoder phone and warehouse scanner apps use.
"""

from __future__ import annotations

import shutil
import subprocess

import pypdfium2
import zxingcpp


def pdf_text(pdf: bytes) -> str:
    """All text of the PDF, pages in order."""
    tool = shutil.which("pdftotext")
    if tool:
        return subprocess.run([tool, "-layout", "-", "-"], input=pdf, capture_output=True, check=True,
                              timeout=60).stdout.decode("utf-8")
    doc = pypdfium2.PdfDocument(pdf)
    return "\n".join(page.get_textpage().get_text_range() for page in doc)


def page_texts(pdf: bytes) -> list[str]:
    """The text of each page (PDFium), to check what is on which label."""
    doc = pypdfium2.PdfDocument(pdf)
    return [page.get_textpage().get_text_range() for page in doc]


def page_sizes_mm(pdf: bytes) -> list[tuple[float, float]]:
    """Width and height of each page in millimetres."""
    doc = pypdfium2.PdfDocument(pdf)
    return [(round(w / 72 * 25.4, 1), round(h / 72 * 25.4, 1)) for w, h in (p.get_size() for p in doc)]


def barcodes(pdf: bytes, dpi: int = 300) -> list[list[tuple[str, str]]]:
    """Per page, the barcodes ZXing reads on it: (format name, text)."""
    doc = pypdfium2.PdfDocument(pdf)
    out = []
    for page in doc:
        image = page.render(scale=dpi / 72).to_pil()
        out.append([(r.format.name, r.text) for r in zxingcpp.read_barcodes(image)])
    return out
