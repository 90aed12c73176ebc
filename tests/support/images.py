"""Test images: photos with EXIF GPS (as phones write them), PNGs, WebPs and a minimal PDF."""

from __future__ import annotations

import io

from PIL import Image

GPS_IFD = 0x8825
ORIENTATION = 0x0112
MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def jpeg_with_gps(size: tuple[int, int] = (800, 600), *, orientation: int | None = None) -> bytes:
    """A JPEG whose EXIF carries a GPS position (海口, 20.04 N 110.32 E) and a camera model."""
    image = Image.new("RGB", size, (200, 60, 40))
    for x in range(0, size[0], 40):  # some structure, so the encoder has work to do
        for y in range(0, size[1], 40):
            image.putpixel((x, y), (10, 10, 10))
    exif = Image.Exif()
    exif[0x0110] = "TestPhone 12"  # Model
    if orientation is not None:
        exif[ORIENTATION] = orientation
    gps = exif.get_ifd(GPS_IFD)
    gps[1] = "N"
    gps[2] = (20.0, 2.0, 24.0)
    gps[3] = "E"
    gps[4] = (110.0, 19.0, 12.0)
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes(), quality=85)
    return out.getvalue()


def png(size: tuple[int, int] = (640, 480), *, alpha: bool = False) -> bytes:
    image = Image.new("RGBA" if alpha else "RGB", size, (30, 120, 200, 128) if alpha else (30, 120, 200))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def webp(size: tuple[int, int] = (400, 300)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (90, 160, 90)).save(out, format="WEBP")
    return out.getvalue()


def has_gps(data: bytes) -> bool:
    with Image.open(io.BytesIO(data)) as image:
        return bool(image.getexif().get_ifd(GPS_IFD))


def exif_of(data: bytes) -> dict[int, object]:
    with Image.open(io.BytesIO(data)) as image:
        return dict(image.getexif())
