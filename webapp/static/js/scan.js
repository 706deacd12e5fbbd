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

const PREFIX = "gc2:";
const FRAME_INTERVAL_MS = 120;
const MAX_SIDE = 1280; // pixels decoded per image side (a phone photo is scaled down first)

const MESSAGES = {
  insecure: "The camera can only be used on a secure (https) page. Open the desk over https, or choose a photo of the code.",
  noCamera: "No camera found on this device. Choose a photo of the code instead.",
  denied: "Camera permission was denied. Allow the camera for this site in the browser's settings, or choose a photo of the code.",
  busy: "The camera is in use by another application. Close it and try again, or choose a photo of the code.",
  failed: "The camera could not be started",
  looking: "Point the camera at the customer's payment QR code…",
  notOurs: `That QR code is not a giftcert payment authorisation (those start with "${PREFIX}").`,
  noCode: "No QR code found in that image. Try a sharper photo, closer to the code.",
  badImage: "That file could not be read as an image.",
  duplicate: "That authorisation is already in the batch.",
};

let decoderPromise = null;
let active = null; // the scanner whose camera is on: { box, stream, timer }

/** A decoder: canvas -> list of QR texts. Native BarcodeDetector if it reads QR, else jsQR. */
function decoder() {
  decoderPromise ??= (async () => {
    if ("BarcodeDetector" in globalThis) {
      try {
        const formats = await globalThis.BarcodeDetector.getSupportedFormats();
        if (formats.includes("qr_code")) {
          const native = new globalThis.BarcodeDetector({ formats: ["qr_code"] });
          const decode = async (canvas) => (await native.detect(canvas)).map((b) => b.rawValue);
          return { name: "native", decode };
        }
      } catch { /* fall back to jsQR */ }
    }
    await import("../vendor/jsqr/jsQR.js"); // a UMD bundle: it sets globalThis.jsQR
    const jsQR = globalThis.jsQR;
    if (typeof jsQR !== "function") throw new Error("The QR decoder could not be loaded.");
    const decode = async (canvas, { thorough = false } = {}) => {
      const ctx = canvas.getContext("2d", { willReadFrequently: true });
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

/** Draws `source` (video or image) into `canvas`, scaled so neither side exceeds `maxSide`. */
function draw(canvas, source, width, height, maxSide = MAX_SIDE) {
  const scale = Math.min(1, maxSide / Math.max(width, height));
  canvas.width = Math.max(1, Math.round(width * scale));
  canvas.height = Math.max(1, Math.round(height * scale));
  canvas.getContext("2d", { willReadFrequently: true })
    .drawImage(source, 0, 0, canvas.width, canvas.height);
}

const isAuthorization = (text) => typeof text === "string" && text.trim().startsWith(PREFIX);

function say(box, text, kind = "") {
  const status = box.querySelector("[data-scan-status]");
  status.textContent = text;
  status.dataset.kind = kind;
  status.classList.toggle("error", kind === "error");
}

/** Puts an authorisation into the box's field as a paste would; false if it was not added. */
function deliver(box, text) {
  const field = document.querySelector(box.dataset.scanTarget);
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

function cameraError(err) {
  switch (err?.name) {
    case "NotAllowedError": case "PermissionDeniedError": case "SecurityError": return MESSAGES.denied;
    case "NotFoundError": case "DevicesNotFoundError": case "OverconstrainedError": return MESSAGES.noCamera;
    case "NotReadableError": case "TrackStartError": case "AbortError": return MESSAGES.busy;
    default: return `${MESSAGES.failed}: ${err?.message || err}`;
  }
}

function stop(box) {
  if (!active || (box && active.box !== box)) return;
  const { box: owner, stream, timer } = active;
  active = null;
  clearTimeout(timer);
  for (const track of stream.getTracks()) track.stop();
  const video = owner.querySelector("[data-scan-video]");
  video.pause();
  video.srcObject = null;
  video.hidden = true;
  owner.querySelector("[data-scan-stop]").hidden = true;
  owner.querySelector("[data-scan-camera]").disabled = false;
  owner.dataset.camera = "off";
}

async function startCamera(box) {
  stop(); // one camera at a time, for whichever field asked last
  const button = box.querySelector("[data-scan-camera]");
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
    say(box, String(err?.message || err), "error");
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
  const video = box.querySelector("[data-scan-video]");
  video.srcObject = stream;
  video.hidden = false;
  box.querySelector("[data-scan-stop]").hidden = false;
  box.dataset.camera = "on";
  say(box, MESSAGES.looking);
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
        if (active !== me) return;
        const ours = texts.find(isAuthorization);
        if (ours) {
          stop(box);
          deliver(box, ours);
          return;
        }
        if (texts.length && !complained) { complained = true; say(box, MESSAGES.notOurs, "error"); }
      }
    } catch { /* a frame that could not be read: try the next one */ }
    if (active === me) me.timer = setTimeout(tick, FRAME_INTERVAL_MS);
  };
  tick();
}

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
    const ours = texts.find(isAuthorization);
    if (ours) deliver(box, ours);
    else say(box, texts.length ? MESSAGES.notOurs : MESSAGES.noCode, "error");
  } catch (err) {
    say(box, String(err?.message || err), "error");
  } finally {
    bitmap.close?.();
    input.value = ""; // the same file can be chosen again
  }
}

for (const box of document.querySelectorAll("[data-scan]")) {
  box.querySelector("[data-scan-camera]").addEventListener("click", () => startCamera(box));
  box.querySelector("[data-scan-stop]").addEventListener("click", () => {
    stop(box);
    say(box, "");
  });
  const input = box.querySelector("[data-scan-file]");
  input.addEventListener("change", () => readFile(box, input));
  box.dataset.camera = "off";
  box.dataset.ready = "true";
}
// Leaving the page (or the tab) turns the camera off.
addEventListener("pagehide", () => stop());
document.addEventListener("visibilitychange", () => { if (document.hidden) stop(); });
