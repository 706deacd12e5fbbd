// @ts-check
// Merchant desk: read a holder's payment authorisation (the QR code on their pay page) with the
// camera, or from a photo of it, into the redeem field or the batch field.
//
// Markup (merchant.html): a [data-scan] box names its field (data-scan-target, a selector) and
// whether a code replaces the field's text or is added as a line (data-scan-mode="append"); it
// holds a [data-scan-camera] button, a [data-scan-file] input, a [data-scan-stop] button, a
// <video data-scan-video> preview and a [data-scan-status] line.
//
// A code read is put into the field as if pasted: an `input` event (and `change`) on the field, so
// app.js shows the same preview it shows for a paste. Decoding: the browser's BarcodeDetector
// where it reads QR codes, else jsQR (vendored from npm by scripts/setup.sh; no CDN).
//
// Whether a code is a payment authorisation is the server's to say (POST
// /api/v1/authorizations/decode, the reading the desk's preview uses): the browser does not know
// the authorisation's text format, so there is one definition of it, in the SDK.

const DECODE_URL = "/api/v1/authorizations/decode";
const FRAME_INTERVAL_MS = 120;
const MAX_SIDE = 1280; // pixels decoded per image side (a phone photo is scaled down first)

const MESSAGES = {
  insecure: "The camera can only be used on a secure (https) page. Open the desk over https, or choose a photo of the code.",
  noCamera: "No camera found on this device. Choose a photo of the code instead.",
  denied: "Camera permission was denied. Allow the camera for this site in the browser's settings, or choose a photo of the code.",
  busy: "The camera is in use by another application. Close it and try again, or choose a photo of the code.",
  failed: "The camera could not be started",
  looking: "Point the camera at the customer's payment QR code…",
  notOurs: "That QR code is not a giftcert payment authorisation.",
  unreachable: "The code could not be checked with the site",
  noCode: "No QR code found in that image. Try a sharper photo, closer to the code.",
  badImage: "That file could not be read as an image.",
  duplicate: "That authorisation is already in the batch.",
};

/**
 * @typedef {(canvas: HTMLCanvasElement, options?: { thorough?: boolean }) => Promise<string[]>} Decode
 * @typedef {{ name: string, decode: Decode }} Decoder
 * @typedef {{ box: HTMLElement, stream: MediaStream, timer: number }} Scan
 * @typedef {{ ours: boolean, reason?: string }} Verdict
 */

/** @type {Promise<Decoder> | null} */
let decoderPromise = null;
/** @type {Scan | null} */
let active = null; // the scanner whose camera is on
/** @type {Map<string, Promise<Verdict>>} */
const verdicts = new Map(); // the server's answer per text read, asked once

/**
 * The element `selector` finds in `root`, of the kind the markup has there.
 * @template {Element} T
 * @param {ParentNode} root @param {string} selector @param {{ new (): T, prototype: T }} kind
 * @returns {T}
 */
function part(root, selector, kind) {
  const found = root.querySelector(selector);
  if (!(found instanceof kind)) throw new Error(`The page has no ${selector} here.`);
  return found;
}

/** The field a box fills (its data-scan-target). @param {HTMLElement} box */
function fieldOf(box) {
  const field = document.querySelector(box.dataset.scanTarget || "");
  if (!(field instanceof HTMLTextAreaElement || field instanceof HTMLInputElement)) {
    throw new Error(`The page has no field ${box.dataset.scanTarget}.`);
  }
  return field;
}

/** @param {unknown} err */
const messageOf = (err) => (err instanceof Error ? err.message : String(err));

/** A 2D context that reads pixels back. @param {HTMLCanvasElement} canvas */
function context(canvas) {
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  if (!ctx) throw new Error("This browser cannot draw the image to read it.");
  return ctx;
}

/** A decoder: canvas -> list of QR texts. Native BarcodeDetector if it reads QR, else jsQR.
 * @returns {Promise<Decoder>} */
function decoder() {
  decoderPromise ??= (async () => {
    const Detector = window.BarcodeDetector;
    if (Detector) {
      try {
        const formats = await Detector.getSupportedFormats();
        if (formats.includes("qr_code")) {
          const native = new Detector({ formats: ["qr_code"] });
          /** @type {Decode} */
          const decode = async (canvas) => (await native.detect(canvas)).map((b) => b.rawValue);
          return { name: "native", decode };
        }
      } catch { /* fall back to jsQR */ }
    }
    await import("../vendor/jsqr/jsQR.js"); // a UMD bundle: it sets globalThis.jsQR
    const jsQR = window.jsQR;
    if (typeof jsQR !== "function") throw new Error("The QR decoder could not be loaded.");
    /** @type {Decode} */
    const decode = async (canvas, { thorough = false } = {}) => {
      const ctx = context(canvas);
      const { data, width, height } = ctx.getImageData(0, 0, canvas.width, canvas.height);
      const found = jsQR(data, width, height,
        { inversionAttempts: thorough ? "attemptBoth" : "dontInvert" });
      return found ? [found.data] : [];
    };
    return { name: "jsqr", decode };
  })();
  decoderPromise.catch(() => { decoderPromise = null; });
  return decoderPromise;
}

/** Draws `source` (video or image) into `canvas`, scaled so neither side exceeds `maxSide`.
 * @param {HTMLCanvasElement} canvas @param {CanvasImageSource} source
 * @param {number} width @param {number} height */
function draw(canvas, source, width, height, maxSide = MAX_SIDE) {
  const scale = Math.min(1, maxSide / Math.max(width, height));
  canvas.width = Math.max(1, Math.round(width * scale));
  canvas.height = Math.max(1, Math.round(height * scale));
  context(canvas).drawImage(source, 0, 0, canvas.width, canvas.height);
}

/**
 * Whether `text` is a payment authorisation, as the server reads it. Decoded, or refused for
 * what it says (an unknown certificate, a used nonce, not the holder's signature: an answer
 * with a `code`), it is one, and goes into the field where the preview explains; refused as
 * input (no `code`), it is not. Asked once per text; a failure to ask is thrown, not kept.
 * @param {string} text @returns {Promise<Verdict>}
 */
function recognise(text) {
  let verdict = verdicts.get(text);
  if (!verdict) {
    verdict = (async () => {
      const response = await fetch(DECODE_URL, { method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ authorization: text }) });
      if (response.ok) return { ours: true };
      const body = await response.json().catch(() => ({}));
      if (response.status >= 500 || response.status === 429 || typeof body !== "object") {
        throw new Error(`${MESSAGES.unreachable}: ${body?.error || `HTTP ${response.status}`}`);
      }
      return body.code ? { ours: true } : { ours: false, reason: String(body.error || "") };
    })();
    verdicts.set(text, verdict);
    verdict.catch(() => verdicts.delete(text));
  }
  return verdict;
}

/** The first of `texts` that is a payment authorisation, if any. @param {string[]} texts */
async function firstAuthorization(texts) {
  for (const text of texts) {
    const value = typeof text === "string" ? text.trim() : "";
    if (value && (await recognise(value)).ours) return value;
  }
  return null;
}

/** @param {HTMLElement} box @param {string} text */
function say(box, text, kind = "") {
  const status = part(box, "[data-scan-status]", HTMLElement);
  status.textContent = text;
  status.dataset.kind = kind;
  status.classList.toggle("error", kind === "error");
}

/** Puts an authorisation into the box's field as a paste would; false if it was not added.
 * @param {HTMLElement} box @param {string} text */
function deliver(box, text) {
  const field = fieldOf(box);
  const value = text.trim();
  if (box.dataset.scanMode === "append") {
    const lines = field.value.split("\n").map((l) => l.trim()).filter(Boolean);
    if (lines.includes(value)) { say(box, MESSAGES.duplicate, "error"); return false; }
    field.value = [...lines, value].join("\n");
  } else {
    field.value = value;
  }
  field.dispatchEvent(new Event("input", { bubbles: true }));
  field.dispatchEvent(new Event("change", { bubbles: true }));
  const count = box.dataset.scanMode === "append"
    ? ` (${field.value.split("\n").filter((l) => l.trim()).length} in the batch)` : "";
  say(box, `Authorisation read${count}.`, "ok");
  return true;
}

/** Words for a getUserMedia failure. @param {unknown} err */
function cameraError(err) {
  const name = err instanceof Error || err instanceof DOMException ? err.name : "";
  switch (name) {
    case "NotAllowedError": case "PermissionDeniedError": case "SecurityError": return MESSAGES.denied;
    case "NotFoundError": case "DevicesNotFoundError": case "OverconstrainedError": return MESSAGES.noCamera;
    case "NotReadableError": case "TrackStartError": case "AbortError": return MESSAGES.busy;
    default: return `${MESSAGES.failed}: ${messageOf(err)}`;
  }
}

/** Turns the camera off (only if it is `box`'s, when given). @param {HTMLElement} [box] */
function stop(box) {
  if (!active || (box && active.box !== box)) return;
  const { box: owner, stream, timer } = active;
  active = null;
  clearTimeout(timer);
  for (const track of stream.getTracks()) track.stop();
  const video = part(owner, "[data-scan-video]", HTMLVideoElement);
  video.pause();
  video.srcObject = null;
  video.hidden = true;
  part(owner, "[data-scan-stop]", HTMLButtonElement).hidden = true;
  part(owner, "[data-scan-camera]", HTMLButtonElement).disabled = false;
  owner.dataset.camera = "off";
}

/** @param {HTMLElement} box */
async function startCamera(box) {
  stop(); // one camera at a time, for whichever field asked last
  const button = part(box, "[data-scan-camera]", HTMLButtonElement);
  if (!window.isSecureContext || !navigator.mediaDevices?.getUserMedia) {
    say(box, window.isSecureContext ? MESSAGES.noCamera : MESSAGES.insecure, "error");
    return;
  }
  button.disabled = true;
  let stream, decode;
  try {
    const found = await decoder();
    decode = found.decode;
    box.dataset.decoder = found.name;
  } catch (err) {
    button.disabled = false;
    say(box, messageOf(err), "error");
    return;
  }
  try {
    stream = await navigator.mediaDevices.getUserMedia(
      { video: { facingMode: "environment" }, audio: false });
  } catch (err) {
    button.disabled = false;
    say(box, cameraError(err), "error");
    return;
  }
  if (active) stop(); // another scan started while this one waited for permission
  const video = part(box, "[data-scan-video]", HTMLVideoElement);
  video.srcObject = stream;
  video.hidden = false;
  part(box, "[data-scan-stop]", HTMLButtonElement).hidden = false;
  box.dataset.camera = "on";
  say(box, MESSAGES.looking);
  /** @type {Scan} */
  const me = { box, stream, timer: 0 };
  active = me;
  video.play().catch(() => { /* a muted inline video plays; frames are read either way */ });
  const canvas = document.createElement("canvas");
  let complained = false;
  const tick = async () => {
    if (active !== me) return;
    try {
      if (video.readyState >= 2 && video.videoWidth) {
        draw(canvas, video, video.videoWidth, video.videoHeight, 960);
        const texts = await decode(canvas);
        const ours = texts.length ? await firstAuthorization(texts) : null;
        if (active !== me) return;
        if (ours) {
          stop(box);
          deliver(box, ours);
          return;
        }
        if (texts.length && !complained) { complained = true; say(box, MESSAGES.notOurs, "error"); }
      }
    } catch (err) {
      // A frame that could not be read: try the next one. The site not answering is said.
      if (err instanceof Error && err.message.startsWith(MESSAGES.unreachable)) {
        say(box, err.message, "error");
      }
    }
    if (active === me) me.timer = setTimeout(tick, FRAME_INTERVAL_MS);
  };
  tick();
}

/** @param {HTMLElement} box @param {HTMLInputElement} input */
async function readFile(box, input) {
  const file = input.files?.[0];
  if (!file) return;
  stop();
  say(box, "Reading the image…");
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    say(box, MESSAGES.badImage, "error");
    input.value = "";
    return;
  }
  try {
    const { name, decode } = await decoder();
    box.dataset.decoder = name;
    const canvas = document.createElement("canvas");
    draw(canvas, bitmap, bitmap.width, bitmap.height);
    let texts = await decode(canvas, { thorough: true });
    if (!texts.length && Math.max(bitmap.width, bitmap.height) > MAX_SIDE) {
      draw(canvas, bitmap, bitmap.width, bitmap.height, 4096); // small code in a big photo
      texts = await decode(canvas, { thorough: true });
    }
    const ours = await firstAuthorization(texts);
    if (ours) deliver(box, ours);
    else say(box, texts.length ? MESSAGES.notOurs : MESSAGES.noCode, "error");
  } catch (err) {
    say(box, messageOf(err), "error");
  } finally {
    bitmap.close?.();
    input.value = ""; // the same file can be chosen again
  }
}

for (const box of document.querySelectorAll("[data-scan]")) {
  if (!(box instanceof HTMLElement)) continue;
  part(box, "[data-scan-camera]", HTMLButtonElement).addEventListener("click", () => startCamera(box));
  part(box, "[data-scan-stop]", HTMLButtonElement).addEventListener("click", () => {
    stop(box);
    say(box, "");
  });
  const input = part(box, "[data-scan-file]", HTMLInputElement);
  input.addEventListener("change", () => readFile(box, input));
  box.dataset.camera = "off";
  box.dataset.ready = "true";
}
// Leaving the page (or the tab) turns the camera off.
addEventListener("pagehide", () => stop());
document.addEventListener("visibilitychange", () => { if (document.hidden) stop(); });
