"""The merchant desk reads a holder's payment authorisation with the camera or from a photo
(webapp/static/js/scan.js), then redeems it as if it had been pasted.

The camera is Chromium's fake capture device playing a Y4M file that the test writes: the QR code
of a real authorisation, as a holder's phone would show it. This module's browser is conftest's
Chromium launched again with the fake-camera flags (the `chromium` fixture below overrides
conftest's, so `open_browser` and the test wallet work unchanged).
"""

from __future__ import annotations

import io
import os
import secrets
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import segno
from e2e_stack import (
    CHROMIUM,
    CHROMIUM_FLAGS,
    COFFEE,
    HOLDER,
    Chain,
    confirm,
    connect,
    events,
    gift_for_holder,
    sign_in_merchant,
)
from playwright.sync_api import expect

from giftcert.money import Money
from webapp.api import encode_authorization

WIDTH, HEIGHT = 640, 480


class FakeCamera:
    """What Chromium's fake camera films: a Y4M file, read when a page starts the camera."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.show(None)

    def show(self, text: str | None) -> None:
        """One still frame: `text`'s QR code (black on white, centred), or a blank grey frame.
        Written beside and renamed into place, so a capture still reading the old file is not
        disturbed."""
        y_plane = _qr_luma(text) if text else bytes([128]) * (WIDTH * HEIGHT)
        chroma = bytes([128]) * (WIDTH // 2 * HEIGHT // 2)  # no colour
        header = f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode()
        partial = self.path.with_suffix(".part")
        partial.write_bytes(header + b"FRAME\n" + y_plane + chroma + chroma)
        os.replace(partial, self.path)


def _qr_luma(text: str) -> bytes:
    """The Y plane of a WIDTH x HEIGHT frame with `text`'s QR code (4-module quiet zone)."""
    rows = list(segno.make(text, error="m", micro=False).matrix_iter(scale=1, border=4))
    scale = min(WIDTH, HEIGHT) // len(rows)
    assert scale >= 3, f"QR code of {len(rows)} modules is too big for a {WIDTH}x{HEIGHT} frame"
    left, top = (WIDTH - len(rows) * scale) // 2, (HEIGHT - len(rows) * scale) // 2
    white = bytes([255])
    blank_line = white * WIDTH
    lines = [blank_line] * top
    for row in rows:
        pixels = b"".join((b"\x00" if dark else white) * scale for dark in row)
        line = white * left + pixels + white * (WIDTH - left - len(pixels))
        lines += [line] * scale
    lines += [blank_line] * (HEIGHT - len(lines))
    return b"".join(lines)


def _qr_png(text: str) -> bytes:
    out = io.BytesIO()
    segno.make(text, error="m", micro=False).save(out, kind="png", scale=6, border=4)
    return out.getvalue()


@pytest.fixture(scope="module")
def camera(tmp_path_factory: pytest.TempPathFactory) -> FakeCamera:
    return FakeCamera(tmp_path_factory.mktemp("camera") / "camera.y4m")


@pytest.fixture(scope="module")
def chromium(chromium: Any, camera: FakeCamera) -> Iterator[Any]:
    """Overrides conftest's browser for this module: the same Chromium, the same flags, plus a
    fake camera that films `camera` and is allowed without asking (as if the merchant clicked
    Allow)."""
    browser = chromium.browser_type.launch(
        executable_path=str(CHROMIUM), headless=True,
        args=[*CHROMIUM_FLAGS, "--use-fake-ui-for-media-stream",
              "--use-fake-device-for-media-stream",
              f"--use-file-for-fake-video-capture={camera.path}"])
    yield browser
    browser.close()


def _payment(chain: Chain, amount: str, gift: str = "30") -> tuple[int, int, str]:
    """A certificate for the holder and the holder's signed authorisation to pay `amount` at
    Corner Coffee (signed through the SDK, as the pay page does through the wallet)."""
    cert_id = gift_for_holder(chain, gift)
    order_ref = secrets.randbelow(10**9) + 1
    signed = chain.client(HOLDER).sign_redemption(cert_id, amount, order_ref)
    return cert_id, order_ref, encode_authorization(signed)


def _camera_is_off(desk: Any, name: str) -> None:
    box = desk.get_by_test_id(f"{name}-scan")
    expect(box).to_have_attribute("data-camera", "off")
    expect(box.get_by_test_id(f"{name}-scan-video")).to_be_hidden()
    video = f'[data-testid="{name}-scan-video"]'
    assert desk.evaluate("(s) => document.querySelector(s).srcObject", video) is None


def test_merchant_scans_a_payment_with_the_camera_and_redeems_it(open_browser, e2e_chain: Chain,
                                                                camera: FakeCamera):
    cert_id, order_ref, authorization = _payment(e2e_chain, "4.50")
    camera.show(authorization)
    merchant = open_browser(COFFEE)
    desk = sign_in_merchant(merchant, "Corner Coffee")
    form = desk.get_by_test_id("redeem-form")
    expect(form.get_by_test_id("redeem-authorization")).to_have_value("")

    form.get_by_test_id("redeem-scan-camera").click()
    # What a paste shows (app.js's preview), filled from the camera alone.
    expect(form.get_by_test_id("redeem-authorization")).to_have_value(authorization)
    expect(desk.get_by_test_id("redeem-details")).to_contain_text("4.50 tUSD")
    expect(desk.get_by_test_id("redeem-details")).to_contain_text("signed by its holder")
    expect(form.get_by_test_id("redeem-scan-status")).to_have_text("Authorisation read.")
    _camera_is_off(desk, "redeem")  # stopped once the code was read
    merchant.screenshot("merchant-scan")

    form.get_by_test_id("redeem-submit").click()
    with desk.expect_navigation():
        confirm(form)
    assert e2e_chain.sdk.certificate(cert_id).balance == Money(Decimal("25.50"), "tUSD")
    redeemed = events(e2e_chain, merchant.wallet.sent, "Redeemed")
    assert [(r["id"], r["orderRef"], r["amount"]) for r in redeemed] == [
        (cert_id, order_ref, 4_500_000)]


def test_batch_scans_add_lines_and_settle_together(open_browser, e2e_chain: Chain,
                                                   camera: FakeCamera):
    first = _payment(e2e_chain, "2.25", gift="10")
    second = _payment(e2e_chain, "1.25", gift="10")
    merchant = open_browser(COFFEE)
    desk = sign_in_merchant(merchant, "Corner Coffee")
    form = desk.get_by_test_id("settle-form")
    field, scan = form.get_by_test_id("settle-authorizations"), form.get_by_test_id("settle-scan")

    camera.show(first[2])
    scan.get_by_test_id("settle-scan-camera").click()
    expect(field).to_have_value(first[2])
    _camera_is_off(desk, "settle")
    scan.get_by_test_id("settle-scan-camera").click()  # the same code again: not added twice
    expect(scan.get_by_test_id("settle-scan-status")).to_contain_text("already in the batch")
    expect(field).to_have_value(first[2])
    _camera_is_off(desk, "settle")
    camera.show(second[2])
    scan.get_by_test_id("settle-scan-camera").click()
    expect(field).to_have_value(f"{first[2]}\n{second[2]}")
    expect(scan.get_by_test_id("settle-scan-status")).to_have_text(
        "Authorisation read (2 in the batch).")
    # The redeem field was left alone.
    expect(desk.get_by_test_id("redeem-authorization")).to_have_value("")

    form.get_by_test_id("settle-submit").click()
    with desk.expect_navigation():
        confirm(form)
    assert len(merchant.wallet.sent) == 1
    redeemed = events(e2e_chain, merchant.wallet.sent, "Redeemed")
    assert sorted((r["id"], r["orderRef"]) for r in redeemed) == sorted(
        [first[:2], second[:2]])
    assert e2e_chain.sdk.certificate(first[0]).balance == Money(Decimal("7.75"), "tUSD")
    assert e2e_chain.sdk.certificate(second[0]).balance == Money(Decimal("8.75"), "tUSD")


# Without the browser's own BarcodeDetector (Chromium has none on Linux; on macOS or Android it
# would be used): the vendored decoder, jsQR, must do the work.
NO_NATIVE_DETECTOR = "delete window.BarcodeDetector;"


DECODE_MS = 30_000


def test_a_photo_of_the_pay_pages_qr_code_fills_the_redeem_field(open_browser,
                                                                 e2e_chain: Chain):
    """No camera: the merchant picks a picture of the code on the holder's screen (here the pay
    page's own QR code, as the holder's browser drew it)."""
    cert_id = gift_for_holder(e2e_chain)
    holder = open_browser(HOLDER)
    page = connect(holder, f"/pay/{cert_id}")
    page.get_by_test_id("pay-amount").fill("3")
    page.get_by_test_id("pay-ref").fill(str(secrets.randbelow(10**9) + 1))
    page.get_by_test_id("pay-sign").click()
    expect(page.get_by_test_id("pay-result")).to_be_visible()
    authorization = page.get_by_test_id("pay-authorization").input_value()
    photo = page.get_by_test_id("pay-qr").screenshot()
    no_code = page.get_by_test_id("pay-balance").screenshot()

    merchant = open_browser(COFFEE)
    merchant.context.add_init_script(NO_NATIVE_DETECTOR)
    desk = sign_in_merchant(merchant, "Corner Coffee")
    form = desk.get_by_test_id("redeem-form")
    upload = form.get_by_test_id("redeem-scan-file")
    status = form.get_by_test_id("redeem-scan-status")

    # A QR code that is not a payment authorisation, then a picture with no code at all.
    # jsQR searches a whole photo in the page's main thread: on a loaded 2-core machine that
    # took longer than expect's default 5 s in a CI run, so each read gets DECODE_MS.
    upload.set_input_files(files=[{"name": "menu.png", "mimeType": "image/png",
                                   "buffer": _qr_png("https://example.com/menu")}])
    expect(status).to_contain_text("not a giftcert payment authorisation", timeout=DECODE_MS)
    upload.set_input_files(files=[{"name": "balance.png", "mimeType": "image/png",
                                   "buffer": no_code}])
    expect(status).to_contain_text("No QR code found", timeout=DECODE_MS)
    expect(form.get_by_test_id("redeem-authorization")).to_have_value("")

    upload.set_input_files(files=[{"name": "pay.png", "mimeType": "image/png", "buffer": photo}])
    expect(status).to_have_text("Authorisation read.", timeout=DECODE_MS)
    expect(form.get_by_test_id("redeem-authorization")).to_have_value(authorization)
    expect(desk.get_by_test_id("redeem-amount")).to_have_text("3.00 tUSD")
    expect(form.get_by_test_id("redeem-scan")).to_have_attribute("data-decoder", "jsqr")


# getUserMedia failing as it does without a camera, or when the merchant refuses it.
CAMERA_FAILS = """
navigator.mediaDevices.getUserMedia = async () => {
  throw new DOMException("camera test", window.__cameraError || "NotFoundError");
};
"""


def test_the_desk_says_why_the_camera_cannot_be_used(open_browser):
    merchant = open_browser(COFFEE)
    merchant.context.add_init_script(CAMERA_FAILS)
    desk = sign_in_merchant(merchant, "Corner Coffee")
    form = desk.get_by_test_id("redeem-form")
    status = form.get_by_test_id("redeem-scan-status")
    for error, message in [("NotFoundError", "No camera found on this device"),
                           ("NotAllowedError", "Camera permission was denied"),
                           ("NotReadableError", "in use by another application")]:
        desk.evaluate("(name) => { window.__cameraError = name; }", error)
        form.get_by_test_id("redeem-scan-camera").click()  # enabled again after each failure
        expect(status).to_contain_text(message)
        expect(status).to_contain_text("photo of the code")  # points to the fallback
        expect(form.get_by_test_id("redeem-scan-camera")).to_be_enabled()
    expect(form.get_by_test_id("redeem-scan-file")).to_be_visible()
    expect(form.get_by_test_id("redeem-scan")).to_have_attribute("data-camera", "off")
    expect(form.get_by_test_id("redeem-authorization")).to_have_value("")


# A browser with its own QR reader (BarcodeDetector: Chrome on macOS, Android, ChromeOS) is asked
# first; this stand-in reads whatever the test put in window.__qrText from any picture.
NATIVE_DETECTOR = """
window.BarcodeDetector = class {
  static async getSupportedFormats() { return ["qr_code", "ean_13"]; }
  constructor(options) { window.__detectorFormats = options.formats; }
  async detect(source) {
    return source.width ? [{ rawValue: window.__qrText, format: "qr_code" }] : [];
  }
};
"""


def test_the_browsers_own_qr_reader_is_used_where_there_is_one(open_browser, e2e_chain: Chain):
    _cert_id, _ref, authorization = _payment(e2e_chain, "1")
    merchant = open_browser(COFFEE)
    merchant.context.add_init_script(NATIVE_DETECTOR)
    desk = sign_in_merchant(merchant, "Corner Coffee")
    desk.evaluate("(text) => { window.__qrText = text; }", authorization)
    form = desk.get_by_test_id("redeem-form")
    form.get_by_test_id("redeem-scan-file").set_input_files(
        files=[{"name": "code.png", "mimeType": "image/png", "buffer": _qr_png("anything")}])
    expect(form.get_by_test_id("redeem-authorization")).to_have_value(authorization)
    expect(desk.get_by_test_id("redeem-amount")).to_have_text("1.00 tUSD")
    expect(form.get_by_test_id("redeem-scan")).to_have_attribute("data-decoder", "native")
    assert desk.evaluate("window.__detectorFormats") == ["qr_code"]
