"""The bytes of attachments: what a file is (from its content), cleaning it, and where it is kept.

* :func:`inspect` decides the type from the content alone — magic bytes, then Pillow must open
  and decode the image (a PNG named ``.pdf`` is a PNG; a text file named ``.jpg`` is refused);
  the client's file name and content type are never consulted.
* :func:`clean_image` re-encodes every image, which drops EXIF (GPS included), XMP and text chunks
  unless the uploader asked to keep the location, and defuses files that are also something else
  (an image with HTML appended); :func:`thumbnail` makes the 320 px JPEG the galleries show.
* :class:`FileStorage` is the small interface the store writes through; :class:`LocalStorage`
  keeps files under ``Settings.attachments_dir`` by random keys, fsynced before ``put`` returns.
  An object store would implement the same four methods (and return a URL from ``url``).
"""

from __future__ import annotations

import io
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from PIL import Image, ImageOps, UnidentifiedImageError

from triage.errors import TriageError

THUMB_PX = 320  # longest side of a thumbnail
MAX_PIXELS = 60_000_000  # decoding a larger image (a "decompression bomb") is refused
JPEG_QUALITY = 90
THUMB_QUALITY = 80
# Pillow's format name → (content type, file extension) for the image types we accept.
IMAGE_TYPES: dict[str, tuple[str, str]] = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}
PDF_TYPE = ("application/pdf", "pdf")
ACCEPTED = "JPEG, PNG, WebP, PDF"
# A storage key is ours alone: two hex characters of fan-out, 32 random hex characters, a known
# extension. Anything else (``..``, slashes, absolute paths, NUL) never reaches the file system.
KEY_RE = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{32}(?:_t)?\.(?:jpg|png|webp|pdf)$")


class UnsupportedFileError(TriageError):
    """The content is not a JPEG, PNG, WebP image or a PDF (whatever its name says)."""

    code = "unsupported_file_type"
    status_code = 415


class FileTooLargeError(TriageError):
    """Over ``Settings.attachment_max_bytes``, or an image with too many pixels to decode safely."""

    code = "file_too_large"
    status_code = 413


@dataclass(frozen=True, slots=True)
class Inspected:
    kind: str  # "image" | "pdf"
    content_type: str
    extension: str
    image_format: str | None = None  # Pillow's format name for images


def _magic(data: bytes) -> str | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data.startswith(b"%PDF-"):
        return "PDF"
    return None


def open_image(data: bytes, expected: str) -> Image.Image:
    """Decode the whole image (a truncated or forged file fails here, not in a browser)."""
    try:
        with Image.open(io.BytesIO(data)) as probe:
            probe.verify()
        image = Image.open(io.BytesIO(data), formats=[expected])
        if image.width * image.height > MAX_PIXELS:
            raise FileTooLargeError(
                f"image has {image.width}×{image.height} pixels; at most {MAX_PIXELS} are accepted",
                code="image_too_large",
                field="file",
            )
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise UnsupportedFileError(
            f"the file looks like {expected} but cannot be decoded ({type(exc).__name__}); "
            f"accepted: {ACCEPTED}",
            field="file",
        ) from None
    return image


def inspect(data: bytes) -> Inspected:
    """The type of ``data`` from its content, or UnsupportedFileError naming the accepted types."""
    found = _magic(data)
    if found is None:
        raise UnsupportedFileError(
            f"the content is not an accepted file type; accepted: {ACCEPTED}", field="file"
        )
    if found == "PDF":
        return Inspected("pdf", *PDF_TYPE)
    content_type, ext = IMAGE_TYPES[found]
    return Inspected("image", content_type, ext, found)


def clean_image(image: Image.Image, fmt: str, *, keep_location: bool) -> bytes:
    """Re-encode ``image`` in its own format without metadata (EXIF incl. GPS, XMP, comments).

    The EXIF orientation is applied to the pixels first, so a phone photo stays upright without
    its EXIF. With ``keep_location`` the (orientation-corrected) EXIF is written back as it was.
    The ICC colour profile is kept: it carries colours, not people.
    """
    upright = ImageOps.exif_transpose(image) or image
    params: dict[str, object] = {}
    icc = image.info.get("icc_profile")
    if icc:
        params["icc_profile"] = icc
    if keep_location:
        exif = upright.getexif()
        if len(exif):
            params["exif"] = exif.tobytes()
    if fmt == "JPEG":
        upright = upright if upright.mode in ("RGB", "L", "CMYK") else upright.convert("RGB")
        params.update(quality=JPEG_QUALITY, optimize=True)
    elif fmt == "WEBP":
        params.update(quality=JPEG_QUALITY)
    elif fmt == "PNG":
        params.update(optimize=False)
    # A copy sheds the info dict (comments, XMP, text chunks) that some encoders would write back.
    bare = upright.copy()
    bare.info = {}
    out = io.BytesIO()
    bare.save(out, format=fmt, **params)
    return out.getvalue()


def thumbnail(image: Image.Image) -> bytes:
    """A JPEG of at most THUMB_PX on the longest side, upright, transparency on white, no metadata."""
    upright = ImageOps.exif_transpose(image) or image
    small = upright.copy()
    small.thumbnail((THUMB_PX, THUMB_PX))
    if small.mode in ("RGBA", "LA", "P"):
        rgba = small.convert("RGBA")
        small = Image.new("RGB", rgba.size, (255, 255, 255))
        small.paste(rgba, mask=rgba.split()[-1])
    elif small.mode != "RGB":
        small = small.convert("RGB")
    small.info = {}
    out = io.BytesIO()
    small.save(out, format="JPEG", quality=THUMB_QUALITY)
    return out.getvalue()


def new_key(extension: str) -> str:
    """A fresh random storage key (128 bits): never derived from anything the uploader sent."""
    token = secrets.token_hex(16)
    return f"{token[:2]}/{token}.{extension}"


def thumb_key_for(key: str) -> str:
    stem = key.rsplit(".", 1)[0]
    return f"{stem}_t.jpg"


def check_key(key: str) -> str:
    if not KEY_RE.fullmatch(key):
        raise ValueError(f"not a storage key: {key!r}")
    return key


class FileStorage(Protocol):
    """Where attachment bytes live. ``put`` returns only once the bytes are durable."""

    def put(self, key: str, data: bytes) -> None: ...
    def read(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...
    def local_path(self, key: str) -> Path | None: ...  # a file to stream, or None (object storage)


class LocalStorage:
    """Files under one directory, by validated random keys; written atomically and fsynced."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser().resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        if not path.is_relative_to(self.root):  # unreachable with KEY_RE; kept as the last guard
            raise ValueError(f"storage key {key!r} leaves the attachments directory")
        return path

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(path.parent)

    def read(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def local_path(self, key: str) -> Path | None:
        return self._path(key)


def _fsync_dir(directory: Path) -> None:
    """Make the new directory entry durable too (the rename), not only the file's bytes."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
