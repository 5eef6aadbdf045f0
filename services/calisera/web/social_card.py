"""The preview card a chat app or social network shows for a booking page link: a
1200x630 PNG (the size Open Graph and Twitter's large summary card expect) drawn on the
server with Pillow in the provider's accent colour, with their initial, name and bio.

Drawn from what the page shows, never from an address the provider typed (fetching a
``photo_url`` at run time would let anyone make the server call any host). Cards are
cached in the process by their content, and the page links them with a ``?v=`` of that
content, so a changed name or colour is a new URL that social caches fetch again.
"""

from __future__ import annotations

import functools
import hashlib
import io
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 1200, 630
MARGIN = 80
INK = (28, 25, 23)
WHITE = (255, 255, 255)
_TEXT_LIMIT = 400
"""More than two card lines ever hold: longer text is cut before it is measured."""
_FONT_FILES = {
    True: ("DejaVuSans-Bold.ttf", "LiberationSans-Bold.ttf"),
    False: ("DejaVuSans.ttf", "LiberationSans-Regular.ttf"),
}
"""System fonts with wide script coverage when the machine has them (Debian's
fonts-dejavu); else Pillow's bundled font, which covers Latin."""

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass(frozen=True)
class Card:
    name: str
    accent: str
    """``#rrggbb`` (checked by the page before it gets here)."""
    tagline: str = ""

    @property
    def version(self) -> str:
        """A short digest of the content: the ``?v=`` of the card's URL."""
        digest = hashlib.sha256(f"{self.name}\0{self.accent}\0{self.tagline}".encode())
        return digest.hexdigest()[:12]


@functools.lru_cache(maxsize=32)
def _font(size: int, bold: bool) -> Font:
    for name in _FONT_FILES[bold]:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def _rgb(accent: str) -> tuple[int, int, int]:
    return int(accent[1:3], 16), int(accent[3:5], 16), int(accent[5:7], 16)


def _text_colour(background: tuple[int, int, int]) -> tuple[int, int, int]:
    """White or ink, whichever reads better (WCAG relative luminance)."""

    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in background)
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return WHITE if (1.05 / (luminance + 0.05)) >= ((luminance + 0.05) / 0.05) else INK


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: Font, width: int, lines: int) -> list[str]:
    """Words in at most ``lines`` lines of ``width`` pixels; the last one ends in "…"
    when the text does not fit (a word longer than a line is cut too)."""
    out: list[str] = []
    words = text[:_TEXT_LIMIT].split()
    current = ""
    while words and len(out) < lines:
        candidate = f"{current} {words[0]}".strip()
        if draw.textlength(candidate, font=font) <= width:
            current = candidate
            words.pop(0)
        elif current:
            out.append(current)
            current = ""
        else:  # one word wider than the line
            out.append(_cut(draw, words.pop(0), font, width))
    if current and len(out) < lines:
        out.append(current)
    if words and out:
        out[-1] = _cut(draw, out[-1] + " " + " ".join(words), font, width)
    return out


def _cut(draw: ImageDraw.ImageDraw, text: str, font: Font, width: int) -> str:
    """The longest start of ``text`` that fits with "…" (binary search: a name may be
    thousands of characters)."""
    if draw.textlength(text, font=font) <= width:
        return text
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if draw.textlength(text[:middle] + "…", font=font) <= width:
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + "…"


@functools.lru_cache(maxsize=128)
def render_card(card: Card) -> bytes:
    """The PNG of ``card`` (about 20-40 KB); the same card is drawn once per process."""
    background = _rgb(card.accent)
    fg = _text_colour(background)
    image = Image.new("RGB", (WIDTH, HEIGHT), background)
    draw = ImageDraw.Draw(image)
    # the initial in a white disc, as the booking page's header shows it
    disc = 160
    draw.ellipse((MARGIN, MARGIN, MARGIN + disc, MARGIN + disc), fill=WHITE)
    initial = (card.name.strip()[:1] or "?").upper()
    draw.text(
        (MARGIN + disc / 2, MARGIN + disc / 2),
        initial,
        font=_font(96, True),
        fill=background if fg == WHITE else INK,  # a pale accent would vanish on white
        anchor="mm",
    )
    width = WIDTH - 2 * MARGIN
    top = MARGIN + disc + 40
    name_font = _font(72, True)
    for line in _wrap(draw, " ".join(card.name.split()), name_font, width, 2):
        draw.text((MARGIN, top), line, font=name_font, fill=fg)
        top += 86
    tag_font = _font(36, False)
    for line in _wrap(draw, " ".join(card.tagline.split()), tag_font, width, 2):
        draw.text((MARGIN, top + 10), line, font=tag_font, fill=fg)
        top += 48
    draw.text((MARGIN, HEIGHT - MARGIN), "Book online", font=_font(34, True), fill=fg, anchor="ls")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
