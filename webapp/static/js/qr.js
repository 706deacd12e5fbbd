// @ts-check
// QR codes drawn in the browser (claim links carry a secret that must not reach the server).
import qrcode from "../vendor/qrcode.mjs";

/** Draws `text`'s QR code (SVG) into `element`. @param {HTMLElement} element @param {string} text */
export function drawQr(element, text) {
  const qr = qrcode(0, "M");
  qr.addData(text);
  qr.make();
  element.innerHTML = qr.createSvgTag({ cellSize: 4, margin: 2, scalable: true });
  element.dataset.qrText = text;
}
