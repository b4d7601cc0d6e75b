"""Images from uploads: size checks before decoding, re-encoding without metadata,
thumbnails, and visible watermarks.

Everything here is CPU work on untrusted bytes: call it in an executor, never on the loop.
"""

from __future__ import annotations

import io
import math
import struct
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

PNG = "image/png"
JPEG = "image/jpeg"
THUMBNAIL_SIZE = 320
_ANGLE = 30
# Pillow refuses images over twice its own MAX_IMAGE_PIXELS and warns above it; our limit
# must stay under it so that Pillow never sees an image we have not sized up first.
PILLOW_LIMIT = int(Image.MAX_IMAGE_PIXELS or 89_478_485)
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


class ImageRefused(ValueError):
    """An image that is not accepted; `status` is the HTTP status it deserves (400/413/415)."""

    def __init__(self, message: str, status: int = 415) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class CleanImage:
    """An image re-encoded from its pixels alone (no EXIF, GPS, ICC or text chunks)."""

    data: bytes
    content_type: str
    width: int
    height: int


def _png_size(data: bytes) -> tuple[int, int]:
    # Signature (8), IHDR length (4), "IHDR" (4), then width and height.
    if len(data) < 24 or data[12:16] != b"IHDR":
        raise ImageRefused("the PNG file has no valid header")
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def _jpeg_size(data: bytes) -> tuple[int, int]:
    position = 2
    # Walk the marker segments up to the first frame header; bounded by the data length.
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            raise ImageRefused("the JPEG file has a damaged header")
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            position += 2
            continue
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        if marker in _JPEG_SOF:
            if position + 9 > len(data):
                break
            height, width = struct.unpack(">HH", data[position + 5 : position + 9])
            return int(width), int(height)
        if length < 2:
            raise ImageRefused("the JPEG file has a damaged header")
        position += 2 + length
    raise ImageRefused("the JPEG file has no image frame (truncated?)")


def header_size(data: bytes, content_type: str) -> tuple[int, int]:
    """Width and height read from the file header alone, without decoding any pixel."""
    return _png_size(data) if content_type == PNG else _jpeg_size(data)


def check_pixels(width: int, height: int, max_pixels: int) -> None:
    """Refuse images whose pixel count would make decoding a memory bomb."""
    if width <= 0 or height <= 0:
        raise ImageRefused("the image has no pixels")
    if width * height > min(max_pixels, PILLOW_LIMIT):
        raise ImageRefused(
            f"the image is {width} × {height} pixels; at most {max_pixels:,} pixels are accepted",
            status=413,
        )


def _pillow_format(content_type: str) -> str:
    return "PNG" if content_type == PNG else "JPEG"


def clean_image(data: bytes, content_type: str, max_pixels: int) -> CleanImage:
    """Check and re-encode an image so that only its pixels survive (orientation applied)."""
    width, height = header_size(data, content_type)
    check_pixels(width, height, max_pixels)
    try:
        with Image.open(io.BytesIO(data), formats=[_pillow_format(content_type)]) as opened:
            if opened.size != (width, height):
                raise ImageRefused("the image header contradicts itself")
            opened.load()  # decodes; a truncated file raises OSError here
            upright = ImageOps.exif_transpose(opened)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, struct.error) as error:
        if isinstance(error, ImageRefused):
            raise
        raise ImageRefused(f"the image cannot be read: {error}") from None
    has_alpha = upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info
    if content_type == PNG:
        mode = "RGBA" if has_alpha else ("L" if upright.mode in ("1", "L") else "RGB")
    else:
        mode = "L" if upright.mode == "L" else "RGB"
    try:
        pixels = upright.convert(mode)
    except ValueError as error:
        raise ImageRefused(f"the image's colour format is not supported: {error}") from None
    pixels.info = {}  # no EXIF, GPS, XMP, ICC profile or text chunks carried over
    out = io.BytesIO()
    if content_type == PNG:
        pixels.save(out, format="PNG", optimize=False)
    else:
        pixels.save(out, format="JPEG", quality=90)
    return CleanImage(out.getvalue(), content_type, pixels.width, pixels.height)


def thumbnail(data: bytes) -> bytes:
    """A small JPEG of a (clean) image for the case page."""
    with Image.open(io.BytesIO(data), formats=["PNG", "JPEG"]) as opened:
        opened.draft("RGB", (THUMBNAIL_SIZE * 2, THUMBNAIL_SIZE * 2))  # cheap JPEG downscale
        image = opened.convert("RGBA")
    image.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
    flat = Image.new("RGB", image.size, "white")
    flat.paste(image, mask=image.getchannel("A"))
    out = io.BytesIO()
    flat.save(out, format="JPEG", quality=80)
    return out.getvalue()


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def watermark_image(data: bytes, content_type: str, text: str) -> bytes:
    """Burn `text` into the image: repeated diagonally across it and in a solid band below.

    The band keeps the text legible on any background; the diagonal repetition makes it
    impossible to crop away without destroying the document.
    """
    with Image.open(io.BytesIO(data), formats=[_pillow_format(content_type)]) as opened:
        base = opened.convert("RGBA")
    width, height = base.size
    size = max(12, min(width, height) // 28)
    font = _font(size)
    probe = ImageDraw.Draw(base)
    left, top, right, bottom = probe.textbbox((0, 0), text, font=font)
    text_w, text_h = int(right - left), int(bottom - top)
    # One turned copy of the text, laid on a lattice along and across its own direction.
    gap = size * 3
    tile = Image.new("RGBA", (text_w + 2, text_h + 2), (0, 0, 0, 0))
    ImageDraw.Draw(tile).text((1, 1 - int(top)), text, font=font, fill=(190, 0, 0, 255))
    tile = tile.rotate(_ANGLE, expand=True, resample=Image.Resampling.BILINEAR)
    along = (
        (text_w + gap) * math.cos(math.radians(_ANGLE)),
        -(text_w + gap) * math.sin(math.radians(_ANGLE)),
    )
    across = (
        (text_h + gap) * math.sin(math.radians(_ANGLE)),
        (text_h + gap) * math.cos(math.radians(_ANGLE)),
    )
    reach = math.hypot(width, height)
    steps_along = math.ceil(reach / (text_w + gap)) + 1
    steps_across = math.ceil(reach / (text_h + gap)) + 1
    overlay = Image.new("RGBA", base.size, (0, 0, 0, 0))
    for j in range(-steps_across, steps_across + 1):
        for i in range(-steps_along, steps_along + 1):
            shift = (j % 2) / 2  # brick pattern, so copies do not line up in columns
            x = width / 2 + (i + shift) * along[0] + j * across[0] - tile.width / 2
            y = height / 2 + (i + shift) * along[1] + j * across[1] - tile.height / 2
            if -tile.width < x < width and -tile.height < y < height:
                overlay.paste(tile, (int(x), int(y)), tile)
    # See-through, so the document stays readable under the marks.
    overlay.putalpha(overlay.getchannel("A").point(lambda alpha: alpha * 2 // 5))
    draw = ImageDraw.Draw(overlay)
    band = text_h + size
    draw.rectangle((0, height - band, width, height), fill=(255, 255, 255, 230))
    draw.text(
        (size // 2, height - band + size // 2 - int(top)), text, font=font, fill=(0, 0, 0, 255)
    )
    marked = Image.alpha_composite(base, overlay)
    out = io.BytesIO()
    if content_type == PNG:
        marked.save(out, format="PNG")
    else:
        marked.convert("RGB").save(out, format="JPEG", quality=88)
    return out.getvalue()
