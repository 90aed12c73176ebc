"""Photos in a real browser (issue 13, item 6): a grid worker photographs a broken manhole cover
on the intake form and on the case page, at desktop size and on a 390×844 phone; the gallery shows
the thumbnails, a refused file is explained in Chinese. Screenshots: /tmp/shots/attachments/."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.images import has_gps, jpeg_with_gps

SHOTS = Path(os.environ.get("TRIAGE_ATTACHMENT_SHOTS", "/tmp/shots/attachments"))
IMAGES_LOADED = "() => [...document.querySelectorAll('#attachments img')].every(i => i.naturalWidth > 0)"
MANHOLE = "海秀路和龙昆南路交叉口的井盖破了，缺了一大块，晚上骑车很容易掉进去，请尽快更换井盖。"


@pytest.fixture(scope="module", autouse=True)
def attachments_dir(tmp_path_factory) -> Iterator[Path]:
    """The module's live server keeps its files in a temporary directory (read from the environment)."""
    path = tmp_path_factory.mktemp("files")
    old = os.environ.get("TRIAGE_ATTACHMENTS_DIR")
    os.environ["TRIAGE_ATTACHMENTS_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("TRIAGE_ATTACHMENTS_DIR", None)
    else:
        os.environ["TRIAGE_ATTACHMENTS_DIR"] = old


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("photos") / "井盖.jpg"
    path.write_bytes(jpeg_with_gps((1600, 1200)))
    return path


def _shot(b, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    b.page.evaluate("window.scrollTo(0, 0)")
    b.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize(("size", "width", "height"), [("desktop", 1280, 900), ("phone", 390, 844)])
def test_photo_at_intake_and_on_the_case_page(
    open_browser, live_server, photo: Path, tmp_path: Path, size: str, width: int, height: int
) -> None:
    b = open_browser(width, height)
    b.login("grid1")
    b.goto("/intake")
    photos = b.page.locator("#photos")
    assert photos.get_attribute("accept") == "image/*" and photos.get_attribute("capture") is not None
    b.page.fill("#text", MANHOLE)
    photos.set_input_files(str(photo))
    _shot(b, f"intake-{size}")
    b.page.click("#submit-case")
    b.page.wait_for_url(re.compile(r"/cases/\d+$"))
    no = b.case_no_from_url()
    gallery = b.page.locator("#attachments .gallery img")
    assert gallery.count() == 1
    b.page.locator("#attach-file").set_input_files(str(photo))
    b.page.check("input[name=keep_location]")
    b.page.click("#attach-submit")
    b.page.wait_for_url(re.compile(rf"/cases/{no}"))
    assert "附件已上传" in b.page.inner_text("body")
    assert gallery.count() == 2
    gallery.nth(1).scroll_into_view_if_needed()
    b.page.wait_for_function(IMAGES_LOADED)
    _shot(b, f"case-gallery-{size}")
    rows = live_server.app.state.service  # the store's view of what the browser did
    from api.actions.attachments import files_of

    stored = files_of(rows).list_for(no)
    assert [a.stage for a in stored] == ["intake", "case"]
    assert [a.kept_location for a in stored] == [False, True]
    files = files_of(rows)
    assert not has_gps(files.storage.read(stored[0].storage_key))
    assert has_gps(files.storage.read(stored[1].storage_key))
    # a text file named .jpg is refused with a Chinese message, nothing stored
    fake = tmp_path / "not-a-photo.jpg"
    fake.write_text("这不是照片")
    b.page.locator("#attach-file").set_input_files(str(fake))
    b.page.click("#attach-submit")
    b.page.wait_for_url(re.compile(rf"/cases/{no}"))
    assert "文件类型不支持" in b.page.inner_text("body")
    assert len(files.list_for(no)) == 2
    if size == "phone":
        overflow = b.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"the case page scrolls sideways by {overflow}px on a phone"
    _shot(b, f"case-refused-{size}")
    assert not b.errors
