// @ts-check
// Page behaviour: header wallet bar, transaction forms (build -> review -> wallet -> receipt),
// claim, pay, merchant sign-in and desk, bulk preview. Pages are server-rendered; this adds the
// wallet steps.
import * as wallet from "./wallet.js";

/**
 * The element `sel` finds. Typed as present: the page's markup has what its script uses; where
 * an element is optional the code checks (`if (el)`, `el?.`).
 * @param {string} sel @param {ParentNode} [root] @returns {HTMLElement}
 */
const $ = (sel, root = document) => /** @type {HTMLElement} */ (root.querySelector(sel));
/** A form field (input, textarea or select: what has a value). @param {string} sel @param {ParentNode} [root] */
const $field = (sel, root) => /** @type {HTMLInputElement} */ ($(sel, root));
/** A form. @param {string} sel @param {ParentNode} [root] */
const $form = (sel, root) => /** @type {HTMLFormElement} */ ($(sel, root));
/** @param {string} sel @param {ParentNode} [root] @returns {HTMLElement[]} */
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
const page = document.body.dataset.page;
/** @param {string | null | undefined} a */
const short = (a) => (a ? `${a.slice(0, 6)}…${a.slice(-4)}` : "");

/** An API refusal: the server's words, and the field and code it names. */
class ApiError extends Error {
  /** @param {string} message @param {any} data the JSON body */
  constructor(message, data) {
    super(message);
    /** @type {string | null | undefined} */
    this.field = data.field;
    /** @type {string | undefined} */
    this.code = data.code;
    this.data = data;
  }
}

/** @param {unknown} err */
const messageOf = (err) => (err instanceof Error ? err.message : String(err));

/** @param {string} text */
function flash(text, kind = "") {
  const el = $("#flash");
  el.textContent = text;
  el.className = `notice ${kind}`;
  el.hidden = !text;
}

/**
 * GET (no body) or POST `body` to the API; the JSON answer (shapes: /api/v1/openapi.json), or
 * an ApiError.
 * @param {string} path @param {unknown} [body] @returns {Promise<any>}
 */
async function api(path, body) {
  const response = await fetch(`/api/v1${path}`, body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const data = await response.json().catch(() => ({ error: `HTTP ${response.status}`, field: null }));
  if (!response.ok && response.status !== 202) {
    throw new ApiError(data.error || `HTTP ${response.status}`, data);
  }
  return data;
}

/** Shows `err` beside the field it names, else in the form's error line, else the flash.
 * @param {HTMLElement | null} form @param {unknown} err */
function showError(form, err) {
  const root = form || document;
  for (const el of $$("[data-error-for]", root)) el.textContent = "";
  const named = err instanceof ApiError && err.field;
  const field = named ? $(`[data-error-for="${named}"]`, root) : null;
  (field || (form && $(".form-error", form)) || $("#flash")).textContent = messageOf(err);
  if (!form) flash(messageOf(err), "warn");
}

// -- header -------------------------------------------------------------------------------
/** @param {import("./wallet.js").WalletState} s */
function renderWallet(s) {
  const hasWallet = !!s.provider;
  $("#no-wallet").hidden = hasWallet;
  $("#connect-button").hidden = !hasWallet || !!s.account;
  $("#wallet-account").textContent = s.account ? short(s.account) : (hasWallet ? "not connected" : "no wallet");
  $("#wallet-account").dataset.address = s.account || "";
  const wrong = !!s.account && s.chainId !== wallet.expectedChainId;
  $("#wallet-network").textContent = s.chainId ? `chain ${s.chainId}${wrong ? " (wrong network)" : ""}` : "";
  $("#wrong-network").hidden = !wrong;
  $("#switch-network").hidden = !wrong;
  const acc = $("#connect-account");
  if (acc) {
    acc.textContent = s.account || (hasWallet ? "not connected" : "no wallet found");
    $("#connect-network").textContent = s.chainId ? `${s.chainId}${wrong ? " — wrong network" : " ✓"}` : "—";
    $("#wallet-name").textContent = s.info ? `Wallet: ${s.info.name}` : "";
  }
  if (s.account) /** @type {HTMLAnchorElement} */ ($("#nav-my")).href = `/holder/${s.account}`;
}

// -- transaction forms --------------------------------------------------------------------
/** The form's filled-in fields, by name. @param {HTMLFormElement} form */
function fieldsOf(form) {
  /** @type {Record<string, string>} */
  const data = {};
  for (const [k, v] of new FormData(form).entries()) if (typeof v === "string" && v !== "") data[k] = v;
  return data;
}

const SETTLED_KEY = "giftcert.settled";

/**
 * What a page does once its transaction is mined (what `after` names).
 * @typedef {{ after?: string, op?: string, page?: string, claimKey?: string,
 *   certificate?: string }} TxMeta
 * @param {TxMeta} meta @param {string} hash
 */
async function afterTx(meta, hash) {
  const s = wallet.current();
  if (meta.after === "gift") {
    const outcome = await api(`/transactions/${hash}`);
    const id = (outcome.issued || [])[0];
    wallet.clearPending();
    if (id) { location.href = `/gift/${id}${meta.claimKey ? "#" + meta.claimKey : ""}`; return; }
  }
  if (meta.after === "settle") {
    // Every valid item was paid; the receipt says which were refused and why (shown after
    // the reload, with the desk's figures brought up to date).
    const outcome = await api(`/transactions/${hash}`);
    sessionStorage.setItem(SETTLED_KEY, JSON.stringify({ hash, paid: outcome.redeemed.length,
      refused: outcome.refused }));
  }
  wallet.clearPending();
  if (meta.after === "holder" && s.account) { location.href = `/holder/${s.account}`; return; }
  if (meta.after === "certificate" && meta.certificate) { location.href = `/certificates/${meta.certificate}`; return; }
  location.reload();
}

/** @param {HTMLFormElement} form @param {import("./wallet.js").UnsignedTx} tx @param {TxMeta} meta */
async function runTx(form, tx, meta) {
  const hash = await wallet.sendTransaction(tx, meta);
  flash(`Transaction sent: ${hash}. Waiting for it to be mined…`);
  const receipt = await wallet.waitForReceipt(hash);
  if (receipt.status !== "0x1") throw new Error("The transaction failed on chain.");
  flash("Done.", "ok");
  await afterTx(meta, hash);
}

/** @param {HTMLFormElement} form @returns {Promise<{ built: any, meta: TxMeta }>} */
async function buildFor(form) {
  const op = form.dataset.tx;
  const account = await wallet.ensureReady();
  /** @type {Record<string, string>} */
  const data = { ...fieldsOf(form), from: account };
  /** @type {TxMeta} */
  const meta = { after: form.dataset.after || "reload", op, page: location.pathname };
  if (op === "issue") {
    if (data.delivery === "link") {
      const { newKey, addressOf } = await import("./crypto.js");
      const key = newKey();
      data.claimKey = addressOf(key);
      delete data.to;
      meta.claimKey = key;
    }
  }
  // The certificate page to open afterwards (data-after="certificate"): by default the form's
  // own; data-after-field names another field (a merge opens the certificate it went into).
  const target = data[form.dataset.afterField || "certificate"];
  if (target) meta.certificate = target;
  const built = await api(`/tx/${op}`, data);
  return { built, meta };
}

// Refused batch items as list entries: "line 2 (certificate …1234): why".
/** @param {{ item: number, certificate: string, message: string }[]} refused */
function refusedItems(refused) {
  return refused.map((r) => {
    const item = document.createElement("li");
    item.dataset.testid = "refused-item";
    item.textContent = `line ${r.item} (certificate …${r.certificate.slice(-8)}): ${r.message}.`;
    return item;
  });
}

// What the review box says besides total and fee (a batch settlement: what will be refused).
/** @param {any} built the API's answer for the transaction */
function noteOf(built) {
  if (built.operation !== "settle-batch" || !built.refused?.length) return [];
  const head = document.createElement("p");
  head.textContent = `${built.willSettle} of ${built.count} will be paid. Refused, and why:`;
  const list = document.createElement("ul");
  list.append(...refusedItems(built.refused));
  return [head, list];
}

/** @param {HTMLFormElement} form */
function wireTxForm(form) {
  const review = $(".tx-review", form);
  /** @type {{ built: any, meta: TxMeta } | null} */
  let plan = null;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const el of $$("[data-error-for]", form)) el.textContent = "";
    try {
      plan = await buildFor(form);
      const { built } = plan;
      const tx = built.needsApproval ? built.approve : built.tx;
      // Operations that move a whole balance return no total: the form states it (data-total),
      // and what it is to the person (data-total-label: "You receive", "Moves").
      $(".tx-total-label", form).textContent = form.dataset.totalLabel || "Total";
      $(".tx-total", form).textContent = built.total ? `${built.total.amount} ${built.total.currency}`
        + (built.needsApproval ? " (first approve the token, then confirm again)" : "")
        : (form.dataset.total || "—");
      $(".tx-fee", form).textContent = (Number(BigInt(tx.estimatedFee)) / 1e18).toFixed(6);
      const note = $(".tx-note", form);
      if (note) {
        note.replaceChildren(...noteOf(built));
        note.hidden = !note.childNodes.length;
      }
      review.hidden = false;
    } catch (err) { showError(form, err); }
  });
  $(".tx-confirm", form)?.addEventListener("click", async () => {
    const chosen = plan;
    if (!chosen) return;
    try {
      review.hidden = true;
      if (chosen.built.needsApproval) {
        const hash = await wallet.sendTransaction(chosen.built.approve, { after: "none" });
        flash("Approving the token…");
        await wallet.waitForReceipt(hash);
        wallet.clearPending();
        form.requestSubmit();
        return;
      }
      await runTx(form, chosen.built.tx, chosen.meta);
    } catch (err) { showError(form, err); }
  });
  $(".tx-cancel", form)?.addEventListener("click", () => { review.hidden = true; });
}

async function resumePending() {
  const p = wallet.pending();
  if (!p || !wallet.current().provider) return;
  const banner = $("#pending-tx");
  banner.hidden = false;
  banner.textContent = `Waiting for your transaction ${short(p.hash)} (sent before this page loaded)…`;
  try {
    const receipt = await wallet.waitForReceipt(p.hash);
    banner.textContent = receipt.status === "0x1" ? "Your transaction is done." : "Your transaction failed on chain.";
    if (receipt.status === "0x1" && p.after && p.after !== "none") await afterTx(p, p.hash);
    else wallet.clearPending();
  } catch (err) { banner.textContent = messageOf(err); }
}

// -- pages --------------------------------------------------------------------------------
async function claimPage() {
  const form = $form("#claim-form");
  if (!form) return;
  const { validKey, signTypedData } = await import("./crypto.js");
  const key = location.hash.slice(1);
  if (!validKey(key)) { $("#claim-key-missing").hidden = false; /** @type {HTMLButtonElement} */ ($("#claim-button")).disabled = true; return; }
  wallet.onChange((s) => { $("#claim-recipient").textContent = s.account || "connect your wallet"; });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const recipient = await wallet.ensureReady();
      const certificate = form.dataset.certId;
      const { typedData } = await api("/typed-data/claim", { certificate, recipient });
      const signature = signTypedData(key, typedData);
      const { tx } = await api("/tx/claim", { from: recipient, certificate, recipient, signature });
      await runTx(form, tx, { after: "certificate", certificate });
    } catch (err) { showError(form, err); }
  });
}

async function giftPage() {
  const key = location.hash.slice(1);
  const id = location.pathname.split("/").pop();
  const { drawQr } = await import("./qr.js");
  if ($("#gift-qr")) drawQr($("#gift-qr"), `${location.origin}/gift/${id}`);
  if (!/^0x[0-9a-fA-F]{64}$/.test(key)) return;
  const link = `${location.origin}/claim/${id}#${key}`;
  $("#claim-share").hidden = false;
  $field("#claim-link").value = link;
  drawQr($("#claim-qr"), link);
}

function givePage() {
  // The design follows the choices: the contract's own renderer draws it (/art/preview.svg).
  const form = $form("#give-form");
  const preview = /** @type {HTMLImageElement} */ ($("#give-preview"));
  if (!form || !preview) return;
  /** @type {number | undefined} */
  let timer;
  const redraw = () => {
    const f = fieldsOf(form);
    const query = new URLSearchParams();
    for (const name of ["merchant", "currency", "occasion", "expiryDays"]) {
      if (f[name]) query.set(name, f[name]);
    }
    if (/^\d+(\.\d+)?$/.test(f.amount || "")) query.set("amount", f.amount);
    preview.src = `/art/preview.svg?${query}`;
  };
  form.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(redraw, 250); });
  redraw();
}

/** Exact decimal comparison of two amounts written as text ("4.5" vs "30").
 * @param {string} balance @param {string} amount */
function atLeast(balance, amount) {
  const [bi, bf = ""] = balance.split("."), [ai, af = ""] = amount.split(".");
  const width = Math.max(bf.length, af.length);
  return BigInt(bi + bf.padEnd(width, "0")) >= BigInt(ai + af.padEnd(width, "0"));
}

/**
 * A certificate as the API lists it (the fields this page reads).
 * @typedef {{ id: string, merchant: number | string, status: string, currency: string,
 *   occasionName: string, balance: { amount: string, currency: string } }} Certificate
 */

function payRequestPage() {
  // A merchant's payment request: list the connected holder's certificates that can pay it.
  const box = $("#pay-choices");
  const { merchant, currency, amount = "", ref = "" } = box.dataset;
  const list = $("#pay-choices-list"), empty = $("#pay-choices-empty");
  wallet.onChange(async (s) => {
    if (!s.account) return;
    /** @type {{ certificates: Certificate[] }} */
    const { certificates } = await api(`/holders/${s.account}/certificates?limit=500`);
    const usable = certificates.filter((c) => String(c.merchant) === merchant && c.status === "active"
      && (!currency || c.currency === currency) && (!amount || atLeast(c.balance.amount, amount)));
    list.replaceChildren(...usable.map((c) => {
      const link = document.createElement("a");
      const query = new URLSearchParams({ amount, ref });
      link.href = `/pay/${c.id}?${query}`;
      link.dataset.testid = "pay-choice";
      link.textContent = `${c.occasionName} · ${c.balance.amount} ${c.balance.currency} · …${c.id.slice(-8)}`;
      const item = document.createElement("li");
      item.append(link);
      return item;
    }));
    empty.textContent = usable.length ? "" : `You hold no certificate here that can pay this${
      amount ? ` (${amount}${currency ? ` ${currency}` : ""} or more left)` : ""}.`;
  });
}

function payPage() {
  const form = $form("#pay-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const el of $$("[data-error-for]", form)) el.textContent = "";
    try {
      await wallet.ensureReady();
      const data = { certificate: form.dataset.certId, ...fieldsOf(form) };
      const built = await api("/typed-data/redemption", data);
      $("#pay-order-paid").hidden = !built.orderPaid;
      const signature = await wallet.signTypedData(built.typedData);
      const out = await api("/authorizations", { typedData: built.typedData, signature });
      $field("#pay-authorization").value = out.authorization;
      const { drawQr } = await import("./qr.js");
      drawQr($("#pay-qr"), out.authorization);
      $("#pay-result").hidden = false;
    } catch (err) { showError(form, err); }
  });
}

function myPage() {
  wallet.onChange((s) => { if (s.account) location.replace(`/holder/${s.account}`); });
}

async function holderPage() {
  const shown = ($("#holder-address").dataset.address || "").toLowerCase();
  await wallet.init();  // the account found at load is not a switch: only later ones are
  let first = true;
  wallet.onChange((s) => {
    if (first) { first = false; return; }
    if (s.account && s.account.toLowerCase() !== shown) location.replace(`/holder/${s.account}`);
  });
}

function merchantLogin() {
  const button = $("#siwe-button");
  button.addEventListener("click", async () => {
    const form = button.parentElement;
    try {
      const account = await wallet.ensureReady();
      const { message } = await api(`/siwe/nonce?address=${account}`);
      const signature = await wallet.personalSign(message);
      await api("/siwe/verify", { message, signature });
      location.href = "/merchant/";
    } catch (err) { showError(form, err); }
  });
}

function merchantDesk() {
  $("#siwe-logout")?.addEventListener("click", async () => {
    await api("/siwe/logout", {});
    location.href = "/merchant/login";
  });
  const text = $field("#redeem-authorization");
  text?.addEventListener("input", async () => {
    const details = $("#redeem-details");
    if (!text.value.trim()) { details.textContent = ""; return; }
    try {
      const d = await api("/authorizations/decode", { authorization: text.value.trim() });
      details.textContent = `${d.amount.amount} ${d.amount.currency} from certificate …${d.certificate.slice(-8)} `
        + `(balance ${d.balance.amount}), order ${d.orderRef}, signed by the holder ${short(d.holder)}`
        + (d.orderPaid ? `. Note: order ${d.orderRef} already has a payment here.` : "");
    } catch (err) { details.textContent = `Cannot be redeemed: ${messageOf(err)}.`; }
  });
  const settled = sessionStorage.getItem(SETTLED_KEY);
  const result = $("#settle-result");
  if (settled && result) {
    sessionStorage.removeItem(SETTLED_KEY);
    const { paid, refused } = JSON.parse(settled);
    const head = document.createElement("p");
    head.dataset.testid = "settle-summary";
    head.textContent = `Last batch: ${paid} paid, ${refused.length} refused${refused.length ? ":" : "."}`;
    const list = document.createElement("ul");
    list.append(...refusedItems(refused));
    result.replaceChildren(head, ...(refused.length ? [list] : []));
    result.hidden = false;
  }
  const update = async () => {
    const query = new URLSearchParams({ merchant: $("[data-merchant-id]").dataset.merchantId || "",
      currency: $field("#request-currency").value, amount: $field("#request-amount").value.trim(),
      ref: $field("#request-ref").value.trim() });
    const link = `${location.origin}/pay?${query}`;
    $("#request-link").textContent = link;
    const { drawQr } = await import("./qr.js");
    drawQr($("#request-qr"), link);
  };
  for (const id of ["#request-amount", "#request-ref", "#request-currency"]) {
    $(id)?.addEventListener("input", update);
  }
  if ($("#request-link")) update();
}

function bulkPage() {
  const form = $form("#bulk-form");
  const picker = $field("#bulk-file");
  picker.addEventListener("change", async () => {
    const file = picker.files?.[0];
    if (file) $field("#bulk-rows").value = await file.text();
  });
  $("#bulk-preview").addEventListener("click", async () => {
    try {
      const data = fieldsOf(form);
      const out = await api("/give/preview", { currency: data.currency, rows: data.rows || "" });
      const tbody = $("#bulk-table tbody");
      /** @typedef {{ row: number, to?: string, amount?: string,
       *   errors: { field: string, error: string }[] }} BulkRow */
      tbody.replaceChildren(...out.rows.map((/** @type {BulkRow} */ r) => {
        const tr = document.createElement("tr");
        tr.dataset.testid = "bulk-row";
        if (r.errors.length) tr.className = "bad";
        for (const v of [String(r.row), r.to ?? "", r.amount ?? "", r.errors.map((e) => `${e.field}: ${e.error}`).join("; ")]) {
          const td = document.createElement("td"); td.textContent = v; tr.append(td);
        }
        return tr;
      }));
      $("#bulk-table").hidden = false;
      $("#bulk-summary").textContent = `${out.valid} valid, ${out.invalid} with problems; total ${out.total.amount} ${out.total.currency}`;
    } catch (err) { showError(form, err); }
  });
}

async function main() {
  wallet.onChange(renderWallet);
  $("#connect-button").addEventListener("click", () => wallet.connect().catch((e) => flash(e.message, "warn")));
  $("#switch-network").addEventListener("click", () => wallet.switchChain().catch((e) => flash(e.message, "warn")));
  for (const button of $$("[data-copy]")) {
    const source = $(button.dataset.copy || "");  // a field's value or a link's address
    button.addEventListener("click", () => navigator.clipboard?.writeText(
      source instanceof HTMLAnchorElement ? source.href : /** @type {HTMLInputElement} */ (source).value));
  }
  for (const form of $$("form[data-tx]")) wireTxForm(/** @type {HTMLFormElement} */ (form));
  /** @type {Record<string, () => unknown>} */
  const pages = { claim: claimPage, gift: giftPage, give: givePage, pay: payPage, my: myPage, holder: holderPage,
    "pay-request": payRequestPage, "merchant-login": merchantLogin, merchant: merchantDesk, "merchant-none": merchantDesk,
    "give-bulk": bulkPage };
  const ready = wallet.init();
  await pages[page || ""]?.();  // buttons work from the start; their actions wait for the wallet
  await ready;
  await resumePending();
}

main().catch((err) => flash(err.message, "warn"));
