"""Draw one receipt line as a black-on-white image, for letters no code page can print.

Uses DejaVu Sans Mono, which python-barcode (a dependency of python-escpos) ships and which
covers Cyrillic including Ukrainian and Kazakh letters. Pillow is imported lazily.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from drivers.errors import RenderError
from drivers.escpos_env import profile_data


@cache
def _font(size: int) -> Any:
    from PIL import ImageFont  # lazy: Pillow is slow to import and only needed here

    path = resources.files("barcode") / "fonts" / "DejaVuSansMono.ttf"
    with resources.as_file(path) as real_path:
        return ImageFont.truetype(str(real_path), size)


@cache
def _metrics(width_pixels: int, columns: int) -> tuple[int, int, int]:
    """Font size, character advance and line height that fit ``columns`` in the width."""
    size = 40
    while size > 8:
        advance = _font(size).getlength("M")
        if advance * columns <= width_pixels:
            break
        size -= 1
    ascent, descent = _font(size).getmetrics()
    return size, int(_font(size).getlength("M")), ascent + descent + 2


def paper_pixels(profile: str) -> int:
    """The printable width in dots of ``profile``; raises ``RenderError`` when unknown."""
    try:
        return int(profile_data(profile)["media"]["width"]["pixels"])
    except (KeyError, TypeError, ValueError):
        raise RenderError(f"Printer profile {profile!r} does not give its paper width.") from None


def render_line(text: str, profile: str, columns: int, center: bool = False) -> Any:
    """A PIL image, as wide as the paper of ``profile``, showing ``text`` in ``columns`` cells."""
    from PIL import Image, ImageDraw  # lazy

    width = paper_pixels(profile)
    size, advance, height = _metrics(width, columns)
    image = Image.new("L", (width, height), 255)
    x = (width - advance * len(text)) // 2 if center else 0
    ImageDraw.Draw(image).text((max(0, x), 1), text, font=_font(size), fill=0)
    return image
