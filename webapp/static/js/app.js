// @ts-check
// Page behaviour: header wallet bar, transaction forms (build -> review -> wallet -> receipt),
// claim, pay, merchant sign-in and desk, bulk preview. Pages are server-rendered; this adds the
// wallet steps.
import * as wallet from "./wallet.js";
import * as fmt from "./format.js";

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
const short = fmt.shortAddress;

/** An API refusal: the server's words, and the field and code it names. */
class ApiError extends Error {
  /** @param {string} message @param {any} data the JSON body @param {number} [status] */
  constructor(message, data, status = 0) {
    super(message);
    this.status = status;
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
    // Retry-After (seconds) rides along in the error's data: a 429's wait, a busy site's 503.
    const retryAfter = Number(response.headers.get("Retry-After")) || 0;
    const busy = data.code === "DatabaseUnavailable";  // the site's database, not the network
    if (response.status === 503 && !busy) chainDown();
    throw new ApiError(busy ? "The site is busy right now: try again in a few seconds."
      : response.status === 503 ? "The network cannot be reached right now: nothing was sent. Try again in a minute."
      : data.error || `The site answered with an error (${response.status}): try again.`, { ...data, retryAfter }, response.status);
  }
  return data;
}

/** A 503 that says the site is busy (no database connection free in time, or the database
 * restarting), not that the network is down: the same request may be sent again.
 * @param {unknown} err */
const siteBusy = (err) => err instanceof ApiError && err.status === 503 && err.code === "DatabaseUnavailable";

/** The form's field called `name` (what an error's `field` names). @param {ParentNode} root @param {string} name */
const fieldNamed = (root, name) => /** @type {HTMLElement | null} */ (root.querySelector(`[name="${name}"]:not([type=hidden])`));

/** Errors beside their fields: each error line gets an id its field points at (aria-describedby).
 * @param {ParentNode} root */
function tieErrors(root) {
  for (const line of $$("[data-error-for]", root)) {
    const name = line.dataset.errorFor;
    const form = line.closest("form") || root;
    const input = name ? fieldNamed(form, name) : null;
    if (!line.id) line.id = `error-${Math.random().toString(36).slice(2, 9)}`;
    if (!line.hasAttribute("aria-live")) line.setAttribute("aria-live", "polite");
    if (input) input.setAttribute("aria-describedby", [input.getAttribute("aria-describedby"), line.id].filter(Boolean).join(" "));
  }
}

/** @param {ParentNode} root */
function clearInvalid(root) {
  for (const el of $$("[aria-invalid]", root)) el.removeAttribute("aria-invalid");
}

/** Shows `err` in words beside the field it names (marked invalid), else in the form's error
 * line, else the flash. A chain that does not answer also raises the banner.
 * @param {HTMLElement | null} form @param {unknown} err */
function showError(form, err) {
  const root = form || document;
  for (const el of $$("[data-error-for]", root)) el.textContent = "";
  clearInvalid(root);
  const text = fmt.plainMessage(messageOf(err));
  if (err instanceof ApiError && err.status === 503 && !siteBusy(err)) chainDown();
  const named = err instanceof ApiError && err.field;
  const line = named ? $(`[data-error-for="${named}"]`, root) : null;
  const input = named && form ? fieldNamed(form, named) : null;
  if (line && input) input.setAttribute("aria-invalid", "true");
  (line || (form && $(".form-error", form)) || $("#flash")).textContent = text;
  if (!form) flash(text, "warn");
}

/** The network (the node behind the site) does not answer: say so once, at the top, and
 * look again every few seconds until it does. */
let watching = false;
function chainDown() {
  const banner = $("#chain-down");
  if (!banner) return;
  banner.hidden = false;
  if (watching) return;
  watching = true;
  const look = async () => {
    const status = await fetch("/api/v1/status").then((r) => r.json()).catch(() => null);
    if (status?.chain === "reachable") { banner.hidden = true; watching = false; return; }
    setTimeout(look, 5000);
  };
  setTimeout(look, 5000);
}

// -- header and the parts of a page that depend on who is connected --------------------------
/** @param {import("./wallet.js").WalletState} s */
function renderWallet(s) {
  const hasWallet = !!s.provider;
  $("#no-wallet").hidden = hasWallet;
  $("#connect-button").hidden = !hasWallet || !!s.account;
  $("#wallet-account").textContent = s.account ? short(s.account) : (hasWallet ? "not connected" : "no wallet");
  $("#wallet-account").dataset.address = s.account || "";
  $("#wallet-account").title = s.account || "";
  const wrong = !!s.account && s.chainId !== wallet.expectedChainId;
  $("#wallet-network").textContent = s.chainId ? `${fmt.networkName(s.chainId)}${wrong ? " (wrong network)" : ""}` : "";
  $("#wrong-network").hidden = !wrong;
  $("#switch-network").hidden = !wrong;
  const acc = $("#connect-account");
  if (acc) {
    acc.textContent = s.account ? short(s.account) : (hasWallet ? "not connected" : "no wallet found");
    acc.title = s.account || "";
    acc.dataset.address = s.account || "";
    $("#connect-network").textContent = s.chainId ? `${fmt.networkName(s.chainId)}${wrong ? " (wrong network: switch in your wallet)" : ""}` : "—";
    $("#wallet-name").textContent = s.info ? `Wallet: ${s.info.name}` : "";
  }
  if (s.account) /** @type {HTMLAnchorElement} */ ($("#nav-my")).href = `/holder/${s.account}`;
  const me = (s.account || "").toLowerCase();
  // What only the holder may do is shown to the holder (the chain would refuse anyone else).
  for (const el of $$("[data-holder-only]")) el.hidden = !me || (el.dataset.holderOnly || "").toLowerCase() !== me;
  for (const el of $$("[data-holder-hint]")) el.hidden = !!me && (el.dataset.holderHint || "").toLowerCase() === me;
  for (const el of $$("[data-needs-wallet]")) el.hidden = !s.account;
  for (const el of $$(".addr[data-address]")) el.classList.toggle("you", !!me && (el.dataset.address || "").toLowerCase() === me);
  showAdmin(s.account);
}

/** The Admin link, for accounts that hold a role on the contract (asked once per account). */
let rolesAsked = "";
/** @param {string | null} account */
async function showAdmin(account) {
  const link = $("#nav-admin");
  if (!link || !account) { if (link) link.hidden = page !== "admin"; return; }
  if (rolesAsked === account) return;
  rolesAsked = account;
  const cached = sessionStorage.getItem(`giftcert.roles.${account.toLowerCase()}`);
  const roles = cached ? JSON.parse(cached) : await api(`/accounts/${account}/roles`).catch(() => null);
  if (roles && !cached) sessionStorage.setItem(`giftcert.roles.${account.toLowerCase()}`, JSON.stringify(roles));
  link.hidden = !(roles && (roles.admin || roles.registrar || roles.pauser)) && page !== "admin";
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
const REDEEMED_KEY = "giftcert.redeemed";
const TABS_SETTLED_KEY = "giftcert.tabs-settled";

/** Waits until the site's index has read `block` (server-rendered figures come from it), for a
 * few seconds at most. @param {number} block */
async function indexed(block) {
  for (let i = 0; i < 40; i++) {
    const status = await api("/status").catch(() => null);
    if (!status || status.indexedBlock === null || status.indexedBlock >= block) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * What a page does once its transaction is mined (what `after` names).
 * @typedef {{ after?: string, op?: string, page?: string, claimKey?: string,
 *   certificate?: string, block?: number, summary?: string, skipped?: Refused[] }} TxMeta
 * @param {TxMeta} meta @param {string} hash
 */
async function afterTx(meta, hash) {
  const s = wallet.current();
  if (meta.block) await indexed(meta.block);
  if (meta.after === "gift") {
    const outcome = await api(`/transactions/${hash}`);
    const id = (outcome.issued || [])[0];
    wallet.clearPending();
    // Bought for yourself with a tab: its certificate page, where the tab shows open.
    if (id && meta.op === "issue-with-tab") { location.href = `/certificates/${id}`; return; }
    if (id) { location.href = `/gift/${id}?sent=1${meta.claimKey ? "#" + meta.claimKey : ""}`; return; }
  }
  if (meta.after === "claimed" && meta.certificate) {
    wallet.clearPending();
    location.href = `/certificates/${meta.certificate}?claimed=1`;
    return;
  }
  if (meta.after === "settle") {
    // Every valid item was paid; the receipt says which were refused and why (shown after
    // the reload, with the desk's figures brought up to date).
    const outcome = await api(`/transactions/${hash}`);
    sessionStorage.setItem(SETTLED_KEY, JSON.stringify({ hash, paid: outcome.redeemed.length,
      refused: outcome.refused }));
  }
  if (meta.after === "settle-tabs") {
    // What the receipt says was collected (its TabSettled events: reading them also makes the
    // site forget those vouchers) and what it refused; with those the review left out, each
    // is named with why.
    const outcome = await api(`/transactions/${hash}`);
    /** @type {Refused[]} */
    const late = outcome.refused || [];
    /** @type {{ ref: string, amount: any }[]} */
    const settled = (outcome.tabsSettled || []).map((/** @type {any} */ t) => ({ ref: t.ref, amount: t.amount }));
    sessionStorage.setItem(TABS_SETTLED_KEY, JSON.stringify({ hash, settled,
      refused: [...(meta.skipped || []), ...late] }));
  }
  if (meta.after === "redeemed") {
    const outcome = await api(`/transactions/${hash}`);
    sessionStorage.setItem(REDEEMED_KEY, JSON.stringify({ hash, redeemed: outcome.redeemed, summary: meta.summary }));
  }
  wallet.clearPending();
  if (meta.after === "holder" && s.account) { location.href = `/holder/${s.account}`; return; }
  if (meta.after === "certificate" && meta.certificate) { location.href = `/certificates/${meta.certificate}`; return; }
  location.reload();
}

/** @param {HTMLFormElement} form @param {import("./wallet.js").UnsignedTx} tx @param {TxMeta} meta */
async function runTx(form, tx, meta) {
  const hash = await wallet.sendTransaction(tx, meta);
  say(form, "Sent. Waiting for the network to confirm it (a few seconds)…");
  flash("Sent. Waiting for the network to confirm it…");
  const receipt = await wallet.waitForReceipt(hash);
  if (receipt.status !== "0x1") throw new Error("The network did not accept the transaction: nothing changed. Try again.");
  say(form, "Done.");
  flash("Done.", "ok");
  await afterTx({ ...meta, block: Number(receipt.blockNumber) }, hash);
}

// -- "no gas needed": the site's relay sends what the wallet signed -------------------------

const RELAYED_KEY = "giftcert.relayed";
/** A relayed request not yet done (localStorage): a reload follows it on (resumeRelayed). */
const RELAY_PENDING_KEY = "giftcert.relay-pending";
/** @typedef {{ requestId: string, what: string, meta: TxMeta, at: number }} RelayPending */
/** @returns {RelayPending | null} */
function relayPending() {
  try { return JSON.parse(localStorage.getItem(RELAY_PENDING_KEY) || "null"); } catch { return null; }
}
const clearRelayPending = () => localStorage.removeItem(RELAY_PENDING_KEY);
/** What each relayed operation is, in the words the pending banner starts with. */
const RELAY_WHAT = { claim: "Claiming the gift", transfer: "Passing the gift on", split: "Re-gifting part of it",
  merge: "Putting the gifts together", "cash-out": "Cashing out", "open-tab": "Opening the tab",
  "request-tab-close": "Asking to close the tab", "close-tab": "Closing the tab" };
/** The holder actions the relay can send for a signature (the claim page has its own). */
const HOLDER_ACTIONS = ["transfer", "split", "merge", "cash-out", "open-tab", "request-tab-close", "close-tab"];
/** A tab's actions, and what the holder's signature says each one is (the review's words). */
const TAB_SIGNED = { "open-tab": "Open a tab", "request-tab-close": "Ask to close the tab", "close-tab": "Close the tab" };
const NO_SESSION_KEY = `0x${"0".repeat(40)}`;

/** @typedef {{ enabled: boolean, operations: string[], prefer: string,
 *   limits?: { perAddressDay: number, perIpDay: number } }} RelayInfo */
/** @type {Promise<RelayInfo> | null} */
let relayAsked = null;
/** The site's relay (GET /relay), asked once per page; off when it does not answer. */
const relayInfo = () => (relayAsked ??= api("/relay").catch(() => ({ enabled: false, operations: [], prefer: "when-needed" })));

/**
 * Whether `op` goes through the relay: it sponsors it, and the operator prefers it always or
 * the wallet's ETH cannot pay the transaction's fee (and value).
 * @param {string} op @param {{ estimatedFee?: string, value?: string } | null | undefined} tx
 * @returns {Promise<{ relay: boolean, walletCanPay: boolean }>}
 */
async function relayChoice(op, tx) {
  const info = await relayInfo();
  const needs = BigInt(tx?.estimatedFee || "0") + BigInt(tx?.value || "0");
  const walletCanPay = await wallet.balance().then((wei) => wei >= needs, () => true);
  const sponsored = info.enabled && info.operations.includes(op);
  return { relay: sponsored && (info.prefer === "always" || !walletCanPay), walletCanPay };
}

/**
 * The holder action to sign for the relay, checked against what the form says: the review
 * shows this message's recipient and amount, so what is reviewed is what is signed.
 * @param {string} op @param {Record<string, string>} data
 */
async function holderAction(op, data) {
  const typed = await api("/typed-data/holder-action", { kind: op, certificate: data.certificate,
    from: data.from, ...(data.to ? { to: data.to } : {}), ...(data.amount ? { amount: data.amount } : {}),
    ...(data.into ? { into: data.into } : {}), ...(data.sessionKey ? { sessionKey: data.sessionKey } : {}) });
  const sameTo = !data.to || (typed.to || "").toLowerCase() === data.to.toLowerCase();
  const sameAmount = op !== "split" || fmt.compareAmounts(typed.amount.amount, data.amount) === 0;
  const sameInto = !data.into || typed.into === data.into;
  // A tab opened here has no session key: this wallet signs the vouchers at the till.
  const sameKey = op !== "open-tab" || (typed.message.sessionKey || "").toLowerCase() === (data.sessionKey || NO_SESSION_KEY).toLowerCase();
  if (!sameTo || !sameAmount || !sameInto || !sameKey || typed.certificate !== data.certificate) {
    throw new Error("The site's answer does not match the form: nothing was signed. Press Review again.");
  }
  return typed;
}

/** "in about 3 hours and 5 minutes". @param {number} seconds */
function waitText(seconds) {
  const minutes = Math.ceil(seconds / 60), h = Math.floor(minutes / 60), m = minutes % 60;
  const unit = (/** @type {number} */ n, /** @type {string} */ word) => `${n} ${word}${n === 1 ? "" : "s"}`;
  if (minutes <= 1) return "in about a minute";
  if (!h) return `in about ${unit(m, "minute")}`;
  return `in about ${unit(h, "hour")}${m ? ` and ${unit(m, "minute")}` : ""}`;
}

/**
 * The relay's refusal in words a person can act on: over a daily limit, when to try again
 * (Retry-After, said as a wait and a time); another request on its way, to wait for it.
 * @param {unknown} err @returns {Promise<unknown>}
 */
async function relayRefusal(err) {
  if (!(err instanceof ApiError)) return err;
  if (err.status === 429) {
    const seconds = Number(err.data?.details?.retryAfter) || 0;
    const { limits } = await relayInfo();
    const n = limits?.perAddressDay, ip = limits?.perIpDay;
    const plural = (/** @type {number} */ k) => `${k} free request${k === 1 ? "" : "s"} a day`;
    /** @type {Record<string, string>} */
    const why = {
      AddressLimit: n ? `This wallet has used the ${plural(n)} the site pays the network fee for.`
        : "This wallet has used the free requests the site pays the network fee for today.",
      IpLimit: ip ? `This connection has used the ${plural(ip)} the site pays the network fee for.`
        : "This connection has used the free requests the site pays the network fee for today.",
      GasBudget: "The site has spent today's budget for paying network fees.",
    };
    // The limits are per UTC day: the moment is on a whole minute (this device's clock may
    // differ from the site's by some seconds).
    const at = Math.round((Date.now() / 1000 + seconds) / 60) * 60;
    const when = seconds ? ` It pays again ${waitText(seconds)} (from ${fmt.dateTimeText(at)}).` : " Try again tomorrow.";
    return new ApiError(`${why[err.code || ""] || "The site has paid all the network fees it pays in a day."}${when} Nothing was sent; or pay the fee from your wallet.`,
      { field: null, code: err.code }, 429);
  }
  if (siteBusy(err)) {
    return new ApiError("The gas sponsor is still busy: nothing was sent twice. Try again in a minute, or pay the fee from your wallet.",
      { field: null, code: err.code }, err.status);
  }
  if (err.code === "RequestInFlight") {
    return new ApiError("An earlier request for this gift is still on its way: wait until it is done (a few seconds), then try again. Nothing was sent.",
      { field: null, code: err.code }, err.status);
  }
  return err;
}

/** How often a busy relay (503 with Retry-After) is asked again before the form says so. */
const RELAY_BUSY_TRIES = 5;

/** "The gas sponsor is busy; trying again in 5 seconds…" @param {number} seconds */
const busyWords = (seconds) => `The gas sponsor is busy; trying again in ${seconds} second${seconds === 1 ? "" : "s"}…`;

/**
 * Hands a signed request to the relay (POST `path`) and remembers it until it is done, so a
 * reload picks it up again; a refusal comes back in words. A busy site (503 with Retry-After)
 * is asked again after the wait it names, saying so on `form`'s status line (else the flash):
 * the same signature is the same request, so it is never sent twice.
 * @param {string} path @param {unknown} body @param {string} op @param {TxMeta} meta @param {string} [amount]
 * @param {HTMLElement | null} [form]
 */
async function relaySubmit(path, body, op, meta, amount = "", form = null) {
  /** @type {any} */
  let request;
  for (let tries = 1; ; tries++) {
    try { request = await api(path, body); break; } catch (err) {
      if (!siteBusy(err) || tries >= RELAY_BUSY_TRIES) throw await relayRefusal(err);
      const seconds = Math.min(60, Math.max(1, Math.round(Number(/** @type {ApiError} */ (err).data?.retryAfter) || 5)));
      for (let left = seconds; left > 0; left--) {
        if (form) say(form, busyWords(left)); else flash(busyWords(left), "warn");
        await new Promise((done) => setTimeout(done, 1000));
      }
      if (form) say(form, "Handing it to the site again…"); else flash("");
    }
  }
  /** @type {RelayPending} */
  const pending = { requestId: request.requestId, meta,
    what: `${RELAY_WHAT[/** @type {keyof typeof RELAY_WHAT} */ (op)] || "Your request"}${amount ? ` (${amount})` : ""}`, at: Date.now() };
  if (request.status !== "mined" && request.status !== "failed") localStorage.setItem(RELAY_PENDING_KEY, JSON.stringify(pending));
  return request;
}

/** Why a relayed holder action or claim failed once sent, in the holder's words (the
 * contract's error, `code`); another reason is the relay's own words. */
const RELAY_FAILED = {
  WrongNonce: "the gift changed after you signed (it was passed on, paid with or signed for again)",
  NotHolder: "the gift is no longer in this wallet",
  AuthorizationExpired: "your signature ran out of time before the network took it: sign again",
  CashOutNotAllowed: "the shop no longer lets this balance be cashed out",
  TabOpen: "a tab is already open on this gift",
  TabNotOpen: "the tab is already closed",
  TabCloseAlreadyRequested: "you already asked to close this tab",
  TabCloseNotRequested: "ask to close the tab first: the shop then has two days to collect",
  TabCloseDelay: "the shop's two days to collect are not over yet",
  NotClaimable: "the gift was already claimed",
  ClaimWindowClosed: "the time to claim this gift has passed",
  Expired: "the gift has expired",
  EnforcedPause: "the site's contract is paused for now: try again later",
};

/** "It did not go through: <why>. Nothing changed." (short enough to be said whole).
 * @param {{ reason?: string | null, code?: string | null }} r */
function failedWords(r) {
  const known = RELAY_FAILED[/** @type {keyof typeof RELAY_FAILED} */ (r.code || "")];
  let why = known || fmt.plainMessage(String(r.reason || "the network did not take it")
    .replace(/^the contract refus(ed|es) it( now)?: /i, "")).replace(/\.$/, "");
  if (why.length > 180) why = `${why.slice(0, 177)}…`;
  return `It did not go through: ${why}. Nothing changed.`;
}

const RELAY_WORDS = {
  queued: "Queued: the site has your signed request and sends it in a moment…",
  sent: "Sent: waiting for the network to confirm it (a few seconds)…",
  mined: "Done: it is on the network. You paid no network fee.",
};

/** Shows a relayed request's step (the status line says it in words, aria-live).
 * @param {HTMLElement} form @param {{ status: string, reason?: string | null, code?: string | null }} r */
function showRelayStep(form, r) {
  const steps = $(".relay-steps", form);
  const order = ["queued", "sent", "mined"];
  const at = r.status === "failed" ? -1 : order.indexOf(r.status);
  if (steps) {
    steps.hidden = false;
    steps.classList.toggle("failed", r.status === "failed");
    for (const li of $$("li", steps)) {
      const i = order.indexOf(li.dataset.step || "");
      li.classList.toggle("done", at >= 0 && (i < at || r.status === "mined"));
      if (i === at && r.status !== "mined") li.setAttribute("aria-current", "step"); else li.removeAttribute("aria-current");
    }
  }
  say(form, r.status === "failed" ? failedWords(r) : RELAY_WORDS[/** @type {"queued" | "sent" | "mined"} */ (r.status)] || "");
}

/**
 * Follows a relayed request to its end (GET /relay/requests/{id}): mined, or an Error with
 * the reason in words.
 * @param {HTMLElement} form @param {any} request the relay's answer
 * @returns {Promise<{ txHash: string, blockNumber: number, newCertificate?: string }>}
 */
async function followRelay(form, request) {
  let r = request;
  const start = Date.now();
  for (;;) {
    showRelayStep(form, r);
    if (r.status === "mined" || r.status === "failed") {
      if (relayPending()?.requestId === r.requestId) clearRelayPending();
    }
    if (r.status === "mined") return r;
    if (r.status === "failed") throw new Error(failedWords(r));
    if (Date.now() - start > 180000) throw new Error("It is still on its way: the site keeps sending it; look at your gifts again in a few minutes.");
    await new Promise((done) => setTimeout(done, 800));
    try { r = await api(`/relay/requests/${r.requestId}`); } catch (err) {
      if (!siteBusy(err)) throw err;  // busy for a moment: the request is safe, look again
    }
  }
}

/** Signs the reviewed holder action in the wallet, hands it to the relay and follows it.
 * @param {HTMLFormElement} form @param {any} typed @param {TxMeta} meta */
async function runRelayed(form, typed, meta) {
  say(form, "Sign in your wallet (no gas needed)…");
  const signature = await wallet.signTypedData(typed.typedData);
  say(form, "Handing it to the site…");
  const amount = typed.amount ? fmt.moneyText(typed.amount) : "";
  const request = await relaySubmit(`/relay/${typed.kind}`, { message: typed.message, signature, domain: typed.typedData.domain },
    typed.kind, meta, amount, form);
  const done = await followRelay(form, request);
  flash(RELAY_WORDS.mined, "ok");
  sessionStorage.setItem(RELAYED_KEY, RELAY_WORDS.mined);
  await afterTx({ ...meta, block: Number(done.blockNumber) }, done.txHash);
}

/** The form's status line (aria-live): what is happening now. @param {HTMLElement} form @param {string} text */
function say(form, text) {
  const line = $(".tx-status", form);
  if (line) line.textContent = text;
}

/**
 * Builds the form's transaction from `data` (the fields read when Review was pressed: what the
 * review shows and what is sent).
 * @param {HTMLFormElement} form @param {Record<string, string>} fields
 * @returns {Promise<{ built: any, meta: TxMeta, data: Record<string, string> }>}
 */
async function buildFor(form, fields) {
  const op = form.dataset.tx;
  const account = await wallet.ensureReady();
  /** @type {Record<string, string>} */
  const data = { ...fields, from: account };
  /** @type {TxMeta} */
  const meta = { after: form.dataset.after || "reload", op, page: location.pathname };
  if (op === "issue-with-tab") {
    // For this wallet itself: no recipient, no claim link, no name to sign with, open at once.
    for (const name of ["delivery", "to", "giverName", "validFromDate"]) delete data[name];
  }
  if (op === "issue") {
    if (data.giverName) data.message = signed(data.message || "", data.giverName);
    delete data.giverName;
    if (data.delivery === "link") {
      const { newKey, addressOf } = await import("./crypto.js");
      const key = newKey();
      data.claimKey = addressOf(key);
      delete data.to;
      meta.claimKey = key;
    }
  }
  if (op === "void" && data.certificate) data.certificate = await certificateId(data.certificate);
  // The certificate page to open afterwards (data-after="certificate"): by default the form's
  // own; data-after-field names another field (a merge opens the certificate it went into).
  const target = data[form.dataset.afterField || "certificate"];
  if (target) meta.certificate = target;
  const built = await api(`/tx/${op}`, data);
  return { built, meta, data };
}

/** The giver's message with their name as its last line ("— Sam"): the recipient's page reads
 * it back to say who the gift is from. @param {string} message @param {string} name */
function signed(message, name) {
  const who = name.trim();
  return who ? `${message.trim()}${message.trim() ? "\n" : ""}— ${who}` : message;
}

/** A certificate's full id from what a person typed: its short reference (7K2M-Q9XD) or the id.
 * @param {string} text */
async function certificateId(text) {
  const value = text.trim();
  if (/^\d{9,}$/.test(value)) return value;
  const found = await api(`/gifts/${encodeURIComponent(value)}`).catch(() => null);
  if (!found) throw new ApiError(`No gift has the reference ${value}: check the code on the customer's card.`, { field: "certificate" });
  return found.id;
}

/** A batch item refused, or left out by the review.
 * @typedef {{ item: number, certificate: string, message: string, ref: string }} Refused */
// Refused batch items as list entries: "line 2 (gift 7K2M-Q9XD): why".
/** @param {Refused[]} refused */
function refusedItems(refused) {
  return refused.map((r) => {
    const item = document.createElement("li");
    item.dataset.testid = "refused-item";
    item.textContent = `line ${r.item} (gift ${r.ref}): ${r.message}.`;
    return item;
  });
}

/** Tabs a settle leaves out (or the receipt refused), by gift: "gift 7K2M-Q9XD: why".
 * @param {Refused[]} refused */
function tabRefusals(refused) {
  return refused.map((r) => {
    const item = document.createElement("li");
    item.dataset.testid = "refused-item";
    item.textContent = `gift ${r.ref}: ${r.message}.`;
    return item;
  });
}

// What the review box says besides the summary (a batch settlement: what will be refused).
/** @param {any} built the API's answer for the transaction */
function noteOf(built) {
  if (!["settle-batch", "settle-tabs"].includes(built.operation) || !built.refused?.length) return [];
  const head = document.createElement("p");
  head.textContent = built.operation === "settle-tabs"
    ? `${built.willSettle} of ${built.count} tabs will be collected. Left out, and why:`
    : `${built.willSettle} of ${built.count} will be paid. Refused, and why:`;
  const list = document.createElement("ul");
  list.append(...(built.operation === "settle-tabs" ? tabRefusals : refusedItems)(built.refused));
  return [head, list];
}

/** The certificate a page is about (data-cert-context: balance, currency, merchant, ...). */
function certContext() {
  return $("[data-cert-context]")?.dataset || {};
}

/** An address as the review says it: short, with the full one beside in small type.
 * @param {string} a */
const addressLine = (a) => (a ? `${fmt.shortAddress(a)}${WHOLE}${a}` : "");
/** Separates an address's short form from the whole one in a review line. */
const WHOLE = "\u001f";

/**
 * What will happen, in the review's words: the main amount (`total`, with what it is to the
 * person: "You send", "They receive", ...), then each thing that will be true afterwards.
 * @param {HTMLFormElement} form @param {Record<string, string>} data what was sent to be built
 * @param {any} built the API's answer
 * @returns {{ label: string, total: string, rows: [string, string][], warn: string }}
 */
function reviewOf(form, data, built) {
  const op = form.dataset.tx || "";
  const cert = certContext();
  /** @type {any} the holder action to sign for the relay, if it sends this */
  const signing = built.relayed || null;
  /** @type {[string, string][]} */
  const rows = [];
  let label = form.dataset.totalLabel || "", total = "", warn = "";
  const selected = (/** @type {string} */ name) => {
    const el = /** @type {HTMLSelectElement | null} */ (form.querySelector(`select[name="${name}"]`));
    return el ? el.options[el.selectedIndex]?.text || "" : "";
  };
  const dated = (/** @type {number | undefined} */ ts) => (ts ? fmt.dateText(ts) : "");
  if (op === "issue" || op === "issue-batch") {
    const merchant = selected("merchant"), money = fmt.moneyText(built.total);
    label = "You send";
    total = money;
    if (op === "issue") {
      rows.push(["They receive", `a ${money} gift certificate at ${merchant}`]);
      rows.push(["To", data.claimKey ? "whoever opens the claim link (you get it on the next page)"
        : addressLine(data.to)]);
    } else {
      rows.push(["They receive", `${built.count} gift certificates at ${merchant}, one per line`]);
    }
    rows.push(["Occasion", selected("occasion") || "Gift"]);
    if (data.message) rows.push(["Message", data.message]);
    rows.push(["Opens on", built.validFrom ? dated(built.validFrom) : "at once"]);
    rows.push(["Expires on", dated(built.expiry)]);
    if (built.claimDeadline) rows.push(["Claim by", fmt.dateTimeText(built.claimDeadline)]);
  } else if (op === "issue-with-tab") {
    const merchant = selected("merchant"), money = fmt.moneyText(built.total);
    label = "You pay";
    total = money;
    rows.push(["The certificate", `${money} at ${merchant}, yours: it stays in this wallet`]);
    rows.push(["Held by", addressLine(built.holder)]);
    rows.push(["A tab opens", `at ${merchant}, at once, in the same transaction`]);
    rows.push(["A tab means", `at each purchase you sign the new tab total, with no network fee each time; only ${merchant} can collect what you sign, never more than the balance`]);
    rows.push(["Meanwhile", "the gift pays only on the tab: it cannot be passed on or spent another way"]);
    rows.push(["Closing the tab", `takes 2 days, unless ${merchant} releases it sooner`]);
    rows.push(["Occasion", selected("occasion") || "Gift"]);
    if (data.message) rows.push(["Message", data.message]);
    rows.push(["Expires on", dated(built.expiry)]);
  } else if (op === "top-up") {
    label = "You send";
    total = fmt.moneyText(built.total);
    rows.push(["The certificate then holds", fmt.moneyText({ amount: fmt.addAmounts(cert.balance || "0", built.total.amount), currency: built.total.currency })]);
  } else if (op === "split") {
    // Relayed: the signed message's amount and recipient (checked equal to the form's).
    const money = signing ? signing.amount : { amount: data.amount, currency: cert.currency || "" };
    label = "They receive";
    total = fmt.moneyText(money);
    rows.push(["What", `a new certificate at ${cert.merchantName}, expiring ${dated(Number(cert.expiry))}`]);
    rows.push(["To", addressLine(signing ? signing.to : data.to)]);
    rows.push(["You keep", fmt.moneyText({ amount: fmt.subtractAmounts(cert.balance || "0", money.amount), currency: cert.currency || "" })]);
  } else if (op === "transfer") {
    label = "They receive";
    total = fmt.moneyText(signing ? signing.amount : { amount: cert.balance || "0", currency: cert.currency || "" });
    rows.push(["What", `this whole certificate at ${cert.merchantName}, expiring ${dated(Number(cert.expiry))}`]);
    rows.push(["To", addressLine(signing ? signing.to : data.to)]);
    rows.push(["You keep", "nothing: it leaves your wallet"]);
  } else if (op === "merge") {
    label = "Moves";
    total = form.dataset.total || "";
    rows.push(["Into", selected("into")]);
    rows.push(["This certificate", "closes"]);
  } else if (op === "redeem-authorized") {
    const r = built.redemption || {};
    label = "You receive";
    total = fmt.moneyText(r.amount);
    rows.push(["From", `gift ${r.ref}, held by ${fmt.shortAddress(r.holder)}`]);
    rows.push(["Order", String(r.orderRef)]);
    if (r.balance && r.amount) rows.push(["Left on the gift after", fmt.moneyText({ amount: fmt.subtractAmounts(r.balance.amount, r.amount.amount), currency: r.amount.currency })]);
  } else if (op === "settle-batch") {
    label = "You receive";
    total = (built.total || []).map(fmt.moneyText).join(" + ") || "nothing";
    rows.push(["Payments", `${built.willSettle} of ${built.count} will be paid, in one transaction`]);
  } else if (op === "settle-tabs") {
    label = "You receive";
    total = (built.total || []).map(fmt.moneyText).join(" + ") || "nothing";
    rows.push(["Tabs", `${built.willSettle} of ${built.count} collected, in one transaction`]);
    for (const t of built.tabs || []) rows.push([`Gift ${t.ref}`, fmt.moneyText(t.amount)]);
  } else if (op === "withdraw") {
    label = "You receive";
    total = form.dataset.total || "";
    rows.push(["To", `the merchant's account ${fmt.shortAddress(wallet.current().account)}`]);
  } else if (op === "void") {
    label = "The holder gets back";
    total = built.certificate ? fmt.moneyText(built.certificate.balance) : "the whole balance";
    rows.push(["Gift", built.certificate?.ref || ""]);
    rows.push(["Afterwards", "the certificate is closed"]);
  } else if (op === "set-cash-out-limit") {
    rows.push(["Holders may cash out", `balances up to ${fmt.amountText(data.limit || "0")} ${data.currency || ""}${Number(data.limit) ? "" : " (that is: never)"}`]);
  } else if (form.dataset.total) {
    total = form.dataset.total;
    label = label || "Total";
  }
  if (form.dataset.action) rows.unshift(["What", form.dataset.action]);
  // What the page's own words say the step means (the template writes them once, e.g. a tab).
  if (form.dataset.review) rows.push(.../** @type {[string, string][]} */ (JSON.parse(form.dataset.review)));
  if (op === "register-merchant") rows.push(["Name", data.name || ""], ["Account", addressLine(data.account)]);
  if (op === "allow-currency") rows.push(["Token", addressLine(data.token)]);
  if (op === "set-min-validity") rows.push(["Minimum validity", `${(Number(data.seconds) / 86400).toFixed(2)} days (${data.seconds} seconds)`]);
  const tabSigned = signing && TAB_SIGNED[/** @type {keyof typeof TAB_SIGNED} */ (op)];
  if (tabSigned) {
    // Relayed: exactly what the signature says (the typed data's message), in words.
    rows.push(["You sign", `${tabSigned} on gift ${signing.ref} at ${signing.merchantName} (nothing else)`]);
    if (op === "open-tab") {
      const key = signing.message.sessionKey;
      rows.push(["Tab payments signed by", key && key.toLowerCase() !== NO_SESSION_KEY ? addressLine(key) : "this wallet, at each purchase"]);
    }
  }
  if (signing) rows.push(["Your signature is valid until", fmt.dateTimeText(signing.deadline)]);
  if (built.needsApproval) {
    total += " (first approve the token, then confirm again)";
    rows.push(["Step 1 of 2", `let the contract take ${fmt.moneyText(built.total)} from your wallet (an approval)`]);
  }
  const tx = built.needsApproval ? built.approve : built.tx;
  const fee = tx ? fmt.ethAmount(BigInt(tx.estimatedFee)) : "0";
  const paid = built.total;
  if (!signing && paid && paid.currency === "ETH" && fmt.compareAmounts(fee, paid.amount) > 0) {
    warn = `The network fee (about ${fmt.ethFee(tx.estimatedFee)} ETH) is larger than the gift itself (${fmt.moneyText(paid)}). Consider a larger amount.`;
  }
  return { label, total, rows, warn };
}

/** Fills the review box. @param {HTMLFormElement} form @param {ReturnType<typeof reviewOf>} r @param {any} built */
function showReview(form, r, built) {
  const list = $(".tx-summary", form);
  const entries = [];
  if (r.total) {
    const row = document.createElement("div");
    row.className = "tx-total-row";
    const dt = document.createElement("dt"); dt.className = "tx-total-label"; dt.textContent = r.label || "Total";
    const dd = document.createElement("dd");
    const strong = document.createElement("strong"); strong.className = "tx-total"; strong.dataset.testid = "tx-total"; strong.textContent = r.total;
    dd.append(strong); row.append(dt, dd); entries.push(row);
  }
  for (const [k, v] of r.rows) {
    const row = document.createElement("div");
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd");
    const [first, full] = v.split(WHOLE);
    dd.textContent = first;
    if (full) {  // an address: the short form to read, the whole one to check against
      const whole = document.createElement("span"); whole.className = "full"; whole.textContent = full;
      dd.append(whole);
    }
    row.append(dt, dd); entries.push(row);
  }
  list.replaceChildren(...entries);
  const tx = built.needsApproval ? built.approve : built.tx;
  $(".tx-fee", form).textContent = fmt.ethFee(tx.estimatedFee);
  // No gas needed: the relay sends it (signing is the primary action; the wallet's own path
  // stays offered when the wallet can pay).
  const relayed = !!built.relayed;
  $(".tx-fee-line", form).hidden = relayed;
  $(".tx-gasless", form).hidden = !relayed;
  $(".tx-confirm", form).textContent = relayed ? "No gas needed: sign in wallet" : "Confirm in wallet";
  $(".tx-self", form).hidden = !(relayed && built.walletCanPay);
  const warn = $(".tx-warn", form);
  warn.textContent = r.warn;
  warn.hidden = !r.warn;
  const note = $(".tx-note", form);
  note.replaceChildren(...noteOf(built));
  note.hidden = !note.childNodes.length;
}

/** Every field of the form that a person can change (not the review's own buttons).
 * @param {HTMLFormElement} form */
const controls = (form) => /** @type {HTMLInputElement[]} */ (Array.from(form.elements))
  .filter((el) => !el.closest(".tx-review"));

/** While the wallet is open the form cannot change (what it sends is already decided).
 * @param {HTMLFormElement} form @param {boolean} locked */
function lock(form, locked) {
  for (const el of controls(form)) {
    if (locked) { el.dataset.wasDisabled = String(el.disabled); el.disabled = true; }
    else if (el.dataset.wasDisabled !== undefined) { el.disabled = el.dataset.wasDisabled === "true"; delete el.dataset.wasDisabled; }
  }
  form.classList.toggle("locked", locked);
  form.setAttribute("aria-busy", String(locked));
}

const CHANGED = "You changed the form, so the review was cancelled: press Review again to check the new details.";

/**
 * A transaction form: Review builds the transaction from the fields as they are at that moment
 * and shows what it will do; any edit afterwards (or while it is being built) cancels the
 * review, and Confirm sends only the transaction that was reviewed, after checking the fields
 * still say what they said. While the wallet is open the form is locked.
 * @param {HTMLFormElement} form
 */
function wireTxForm(form) {
  const review = $(".tx-review", form);
  /** @type {{ built: any, meta: TxMeta, snapshot: string } | null} */
  let plan = null;
  let generation = 0;  // moves on with every edit: a build started before it is dropped
  let sending = false;
  const snapshot = () => JSON.stringify(fieldsOf(form));
  const cancel = (/** @type {string} */ why) => {
    generation++;
    const wasShown = !!plan || !review.hidden;
    plan = null;
    review.hidden = true;
    if (why && wasShown) say(form, why);
  };
  const edited = (/** @type {Event} */ event) => {
    if (sending || (event.target instanceof Node && review.contains(event.target))) return;
    if (plan || form.dataset.building === "true") cancel(CHANGED);
    else generation++;
  };
  form.addEventListener("input", edited);
  form.addEventListener("change", edited);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (sending) return;
    for (const el of $$("[data-error-for]", form)) el.textContent = "";
    clearInvalid(form);
    cancel("");
    const mine = ++generation;
    const fields = fieldsOf(form), before = snapshot();
    form.dataset.building = "true";
    say(form, "Checking with the network…");
    try {
      const { built, meta, data } = await buildFor(form, fields);
      if (mine !== generation || snapshot() !== before) return;  // edited meanwhile: not shown
      const op = form.dataset.tx || "";
      if (HOLDER_ACTIONS.includes(op)) {
        const choice = await relayChoice(op, built.tx);
        built.walletCanPay = choice.walletCanPay;
        built.relayed = choice.relay ? await holderAction(op, data) : null;
        if (mine !== generation || snapshot() !== before) return;
      }
      if (form.dataset.tx === "void" && data.certificate) {
        built.certificate = await api(`/certificates/${data.certificate}`).catch(() => null);
      }
      const summary = reviewOf(form, data, built);
      showReview(form, summary, built);
      if (form.dataset.tx === "settle-tabs") meta.skipped = built.refused || [];
      if (form.dataset.tx === "redeem-authorized" && built.redemption) {
        meta.summary = `${summary.total} from gift ${built.redemption.ref}, order ${built.redemption.orderRef}.`;
      }
      plan = { built, meta, snapshot: before };
      review.hidden = false;
      say(form, built.relayed ? "Check the details, then sign in your wallet (no gas needed)." : "Check the details, then confirm in your wallet.");
      review.focus();
    } catch (err) {
      if (mine === generation) { say(form, ""); showError(form, err); }
    } finally { delete form.dataset.building; }
  });
  const confirm = async (/** @type {boolean} */ fromWallet) => {
    const chosen = plan;
    if (!chosen || review.hidden) return;
    if (snapshot() !== chosen.snapshot) { cancel(CHANGED); return; }  // never send what is not on screen
    plan = null;
    review.hidden = true;
    sending = true;
    lock(form, true);
    say(form, "Confirm in your wallet…");
    try {
      if (chosen.built.needsApproval) {
        const hash = await wallet.sendTransaction(chosen.built.approve, { after: "none" });
        say(form, "Approving the token…");
        await wallet.waitForReceipt(hash);
        wallet.clearPending();
        sending = false;
        lock(form, false);
        form.requestSubmit();
        return;
      }
      if (chosen.built.relayed && !fromWallet) await runRelayed(form, chosen.built.relayed, chosen.meta);
      else await runTx(form, chosen.built.tx, chosen.meta);
    } catch (err) {
      say(form, "");
      showError(form, err);
    } finally {
      sending = false;
      lock(form, false);
    }
  };
  $(".tx-confirm", form)?.addEventListener("click", () => confirm(false));
  $(".tx-self", form)?.addEventListener("click", () => confirm(true));
  $(".tx-cancel", form)?.addEventListener("click", () => { cancel(""); say(form, "Nothing was sent."); });
}

async function resumePending() {
  const p = wallet.pending();
  if (!p || !wallet.current().provider) return;
  const banner = $("#pending-tx");
  banner.hidden = false;
  banner.textContent = `Waiting for your transaction ${short(p.hash)} (sent before this page loaded)…`;
  try {
    const receipt = await wallet.waitForReceipt(p.hash);
    banner.textContent = receipt.status === "0x1" ? "Your transaction is done." : "The network did not accept your transaction: nothing changed.";
    if (receipt.status === "0x1" && p.after && p.after !== "none") await afterTx({ ...p, block: Number(receipt.blockNumber) }, p.hash);
    else wallet.clearPending();
  } catch (err) { banner.textContent = fmt.plainMessage(messageOf(err)); }
}

/** A relayed request handed to the site before this page loaded (a reload, another tab):
 * followed here in words (Queued, Sent, Done, or why not) until it is done, then the page
 * does what its form would have done. */
async function resumeRelayed() {
  const p = relayPending();
  const box = $("#pending-relay");
  if (!p || !box) return;
  $(".pending-relay-what", box).textContent = `${p.what}, no gas needed: handed to the site before this page loaded.`;
  box.className = "notice";
  box.hidden = false;
  /** @type {any} */
  let request;
  try {
    request = await api(`/relay/requests/${p.requestId}`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) { clearRelayPending(); box.hidden = true; return; }
    say(box, "The site cannot say how it is going right now: reload the page in a minute to see.");
    return;
  }
  try {
    const done = await followRelay(box, request);
    flash(RELAY_WORDS.mined, "ok");
    sessionStorage.setItem(RELAYED_KEY, RELAY_WORDS.mined);
    await afterTx({ ...p.meta, block: Number(done.blockNumber) }, done.txHash);
  } catch (err) {
    box.className = "notice warn";
    say(box, fmt.plainMessage(messageOf(err)));
  }
}

// -- pages --------------------------------------------------------------------------------

/** The page's address shows the short gift reference, whichever form it was opened with. */
function canonicalUrl() {
  const target = $("[data-canonical]")?.dataset.canonical;
  if (target && target !== location.pathname) history.replaceState(null, "", target + location.search + location.hash);
}

/** Copy buttons (with "Copied" said beside them) and the system share sheet where there is one. */
function wireSharing() {
  for (const button of $$("[data-copy]")) {
    const source = $(button.dataset.copy || "");  // a field's value or a link's address
    button.addEventListener("click", async () => {
      const text = source instanceof HTMLAnchorElement ? source.href : /** @type {HTMLInputElement} */ (source).value;
      const said = button.parentElement?.querySelector(".copied");
      try {
        await navigator.clipboard.writeText(text);
        if (said) said.textContent = "Copied.";
      } catch {
        /** @type {HTMLInputElement} */ (source).select?.();
        if (said) said.textContent = "Selected: press Ctrl+C (or hold and copy) to copy it.";
      }
      document.dispatchEvent(new CustomEvent("giftcert:copied", { detail: button.dataset.copy }));
    });
  }
  for (const button of $$("[data-share]")) {
    if (!navigator.share) continue;
    button.hidden = false;
    const source = /** @type {HTMLInputElement} */ ($(button.dataset.share || ""));
    button.addEventListener("click", () => navigator.share({ title: document.title, url: source.value })
      .then(() => document.dispatchEvent(new CustomEvent("giftcert:copied", { detail: button.dataset.share })))
      .catch(() => {}));
  }
}

async function claimPage() {
  const form = $form("#claim-form");
  if (!form) return;
  const { validKey, signTypedData } = await import("./crypto.js");
  const key = location.hash.slice(1);
  if (!validKey(key)) { $("#claim-key-missing").hidden = false; /** @type {HTMLButtonElement} */ ($("#claim-button")).disabled = true; return; }
  const button = /** @type {HTMLButtonElement} */ ($("#claim-button"));
  const certificate = form.dataset.certId || "";
  // The claim's transaction for the connected wallet, and whether the relay sends it (no gas
  // needed: the wallet cannot pay its fee, or the site prefers it): said before the press.
  /** @type {{ recipient: string, tx: any, signature: string, relay: boolean } | null} */
  let plan = null;
  const prepare = async (/** @type {string} */ recipient) => {
    const { typedData } = await api("/typed-data/claim", { certificate, recipient });
    const signature = signTypedData(key, typedData);
    const { tx } = await api("/tx/claim", { from: recipient, certificate, recipient, signature });
    const { relay } = await relayChoice("claim", tx);
    return { recipient, tx, signature, relay };
  };
  const offer = (/** @type {boolean} */ relay) => {
    $("#claim-gasless").hidden = !relay;
    button.textContent = relay ? "Claim the gift: no gas needed" : "Claim the gift";
  };
  wallet.onChange(async (s) => {
    const el = $("#claim-recipient");
    el.textContent = s.account ? `your wallet ${short(s.account)}` : "connect your wallet first";
    el.dataset.address = s.account || "";
    if (!s.account || s.chainId !== wallet.expectedChainId) { plan = null; offer(false); return; }
    const account = s.account;
    const ready = await prepare(account).catch(() => null);
    if (ready && wallet.current().account === account) { plan = ready; offer(ready.relay); }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      button.disabled = true;
      const recipient = await wallet.ensureReady();
      say(form, "Checking the link…");
      // The recipient on screen is the one signed for (a plan made for another is made again).
      const chosen = plan && plan.recipient.toLowerCase() === recipient.toLowerCase() ? plan : await prepare(recipient);
      offer(chosen.relay);
      const meta = { after: "claimed", certificate: form.dataset.ref || certificate };
      if (chosen.relay) {
        say(form, "Handing the claim to the site…");
        const request = await relaySubmit("/relay/claim", { certificate, recipient: chosen.recipient, signature: chosen.signature },
          "claim", meta, "", form);
        const done = await followRelay(form, request);
        await afterTx({ ...meta, block: Number(done.blockNumber) }, done.txHash);
        return;
      }
      say(form, "Confirm in your wallet…");
      await runTx(form, chosen.tx, meta);
    } catch (err) { say(form, ""); showError(form, err); } finally { button.disabled = false; }
  });
}

async function giftPage() {
  const context = certContext();
  const ref = context.ref || "";
  const { drawQr } = await import("./qr.js");
  const pageUrl = `${location.origin}/gift/${ref}`;
  const urlBox = /** @type {HTMLInputElement | null} */ (document.querySelector("#gift-url-text"));
  if (urlBox) urlBox.value = pageUrl;
  if ($("#gift-qr")) drawQr($("#gift-qr"), pageUrl);
  const share = $("#claim-share");
  if (!share) return;
  const key = location.hash.slice(1);
  if (!/^0x[0-9a-fA-F]{64}$/.test(key)) { $("#claim-key-lost").hidden = false; return; }
  const link = `${location.origin}/claim/${ref}#${key}`;
  share.hidden = false;
  $field("#claim-link").value = link;
  drawQr($("#claim-qr"), link);
  // The link exists nowhere else: the page holds on to it until the giver says it is saved.
  const saved = /** @type {HTMLInputElement} */ ($("#claim-saved"));
  const done = /** @type {HTMLAnchorElement} */ ($("#claim-done"));
  const guard = (/** @type {BeforeUnloadEvent} */ event) => { event.preventDefault(); event.returnValue = ""; };
  const update = () => {
    done.setAttribute("aria-disabled", String(!saved.checked));
    $("[data-testid=claim-done-hint]").hidden = saved.checked;
    if (saved.checked) removeEventListener("beforeunload", guard); else addEventListener("beforeunload", guard);
  };
  done.addEventListener("click", (event) => { if (!saved.checked) { event.preventDefault(); saved.focus(); } });
  saved.addEventListener("change", update);
  update();
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
    if (fmt.isAmount(f.amount || "")) query.set("amount", f.amount);
    preview.src = `/art/preview.svg?${query}`;
  };
  // A claim link needs no address: the box goes away (and its text is not sent). Bought for
  // yourself with a tab: no address, no name to sign with, no later opening (a tab opens at
  // once), and the form builds issue-with-tab instead of issue.
  const show = (/** @type {string} */ sel, /** @type {boolean} */ shown) => {
    const box = $(sel);
    box.hidden = !shown;
    for (const el of $$("input, textarea, select", box)) /** @type {HTMLInputElement} */ (el).disabled = !shown;
  };
  const delivery = () => {
    const choice = /** @type {HTMLInputElement | null} */ (form.querySelector('input[name="delivery"]:checked'))?.value;
    const tab = choice === "tab";
    show("#give-to-box", choice !== "link" && !tab);
    show("#give-name-box", !tab);
    show("#give-opens-box", !tab);
    $("#give-opens-tab").hidden = !tab;
    $("#give-tab-box").hidden = !tab;
    form.dataset.tx = tab ? "issue-with-tab" : "issue";
    const shop = /** @type {HTMLSelectElement} */ ($("#give-merchant"));
    const name = shop.options[shop.selectedIndex]?.text || "the shop";
    for (const el of $$(".give-merchant-name", form)) el.textContent = name;
  };
  const days = $field("#give-expiry-days"), daysText = $("#give-expiry-text");
  const expiryText = () => {
    const n = Number(days.value);
    daysText.textContent = n > 0 ? `That is until about ${fmt.dateText(Math.floor(Date.now() / 1000) + n * 86400)}.` : "";
  };
  form.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(redraw, 250); delivery(); expiryText(); });
  form.addEventListener("change", () => { delivery(); });
  delivery();
  expiryText();
  redraw();
}

/**
 * A certificate as the API lists it (the fields this page reads).
 * @typedef {{ id: string, ref: string, merchant: number | string, status: string, currency: string,
 *   occasionName: string, expiry: number, balance: { amount: string, currency: string },
 *   tabOpen?: boolean }} Certificate
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
      && (!currency || c.currency === currency) && (!amount || fmt.compareAmounts(c.balance.amount, amount) >= 0));
    list.replaceChildren(...usable.map((c) => {
      const link = document.createElement("a");
      const query = new URLSearchParams({ amount, ref });
      // A gift with a tab open pays on the tab (the till takes the amount; no order there).
      link.href = c.tabOpen ? `/tab/${c.ref}?${new URLSearchParams({ amount })}` : `/pay/${c.ref}?${query}`;
      link.className = "button secondary";
      link.dataset.testid = "pay-choice";
      link.dataset.certId = c.id;
      link.textContent = `${fmt.moneyText(c.balance)} · ${c.occasionName} · gift ${c.ref}`;
      const item = document.createElement("li");
      item.append(link);
      return item;
    }));
    empty.textContent = usable.length ? "" : `You hold no gift here that can pay this${
      amount ? ` (${fmt.amountText(amount)}${currency ? ` ${currency}` : ""} or more left)` : ""}.`;
  });
}

/** Seconds a signed payment stays valid (the API's default). */
const VALID_FOR = 3600;

/**
 * What the pay page and the tab's till share (templates/_show_code.html): the holder signs in
 * the wallet what the site builds, the code shows as a QR code and as text with what it says,
 * and the page asks every 1.5 s until the shop has taken it (then says so by itself); a refusal
 * is said in words. Editing the form, or asking for another code, puts the form back.
 * `name` prefixes the page's parts: #<name>-form, -amount, -sign, -result, -qr, -again,
 * data-testid <name>-state (and <name>-countdown).
 * @param {string} name
 * @param {{ check: () => void,
 *   build: () => Promise<any>,
 *   encode: (signed: { typedData: any, signature: string }) => Promise<string>,
 *   field: string,
 *   show: (built: any) => void,
 *   taken: (built: any) => Promise<string>,
 *   flag: string,
 *   countdown?: { seconds: number, expired: string },
 *   again?: () => void }} o
 *   check: what the amount allows (Sign is disabled beyond what the gift can pay);
 *   build: the typed data to sign, as the API builds it ({ typedData, ... });
 *   encode: the code for what was signed, shown in the text box `field`;
 *   show: fills in what the code says;
 *   taken: the words once the shop has taken it (and the page's totals brought up to date),
 *   else "": the state line says them and gets data-<flag>="true";
 *   countdown: how long the code is valid, counted down (on expiry, the state says `expired`);
 *   again: what else "again" does, beyond putting the form back.
 */
function codePage(name, o) {
  const form = $form(`#${name}-form`);
  const result = $(`#${name}-result`);
  const amountField = $field(`#${name}-amount`);
  const button = /** @type {HTMLButtonElement} */ ($(`#${name}-sign`));
  const state = $(`[data-testid=${name}-state]`);
  const countdown = o.countdown ? $(`[data-testid=${name}-countdown]`) : null;
  const waiting = state.textContent;  // "Waiting for <merchant> to …", as the page came
  const { check } = o;
  /** @type {number | undefined} */
  let ticker;
  /** @type {number | undefined} */
  let poller;
  const stop = () => { clearInterval(ticker); clearTimeout(poller); };
  const reset = () => { stop(); result.hidden = true; result.classList.remove("paid", "stale"); form.hidden = false; };
  // Any edit puts the form back (the code no longer says what the form does).
  form.addEventListener("input", (event) => { if (event.target === amountField) check(); if (!result.hidden) reset(); });
  $(`#${name}-again`).addEventListener("click", () => { reset(); o.again?.(); amountField.focus(); });
  check();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const el of $$("[data-error-for]", form)) el.textContent = "";
    check();
    if (button.disabled) return;
    try {
      button.disabled = true;
      await wallet.ensureReady();
      say(form, "Sign in your wallet…");
      const built = await o.build();
      const signature = await wallet.signTypedData(built.typedData);
      const code = await o.encode({ typedData: built.typedData, signature });
      say(form, "");
      $field(o.field).value = code;
      const { drawQr } = await import("./qr.js");
      drawQr($(`#${name}-qr`), code);
      o.show(built);
      state.textContent = waiting;
      result.classList.remove("paid", "stale");
      result.hidden = false;
      form.hidden = true;
      result.scrollIntoView({ block: "start" });
      stop();
      if (countdown && o.countdown) {
        const { seconds, expired } = o.countdown;
        // The deadline is on the chain's clock (which need not be this device's): it is the
        // default validity from the moment the server built the code.
        const endsAt = Date.now() + seconds * 1000;
        const tick = () => {
          const left = Math.round((endsAt - Date.now()) / 1000);
          if (left <= 0) {
            countdown.textContent = "This code has expired.";
            if (!result.classList.contains("paid")) { result.classList.add("stale"); state.textContent = expired; stop(); }
            return;
          }
          const m = Math.floor(left / 60), sec = String(left % 60).padStart(2, "0");
          countdown.textContent = `Valid for ${m}:${sec}`;
        };
        tick();
        ticker = window.setInterval(tick, 1000);
      }
      const watch = async () => {
        const words = await o.taken(built);
        if (words) {
          stop();
          result.classList.add("paid");
          if (countdown) countdown.textContent = "";
          state.textContent = words;
          state.dataset[o.flag] = "true";
          return;
        }
        if (!result.hidden && !result.classList.contains("stale")) poller = window.setTimeout(watch, 1500);
      };
      poller = window.setTimeout(watch, 1500);
    } catch (err) { say(form, ""); showError(form, err); } finally { button.disabled = false; check(); }
  });
}

function payPage() {
  const form = $form("#pay-form");
  if (!form) return;
  const context = certContext();
  const balance = context.balance || "0", currency = context.currency || "";
  const amountField = $field("#pay-amount");
  const button = /** @type {HTMLButtonElement} */ ($("#pay-sign"));
  const amountError = $("[data-testid=pay-amount-error]");
  const orderPaid = $("#pay-order-paid");
  codePage("pay", {
    // Pay is disabled for an amount the gift cannot cover (said beside the amount).
    check: () => {
      const value = amountField.value.trim();
      const over = fmt.isAmount(value) && fmt.compareAmounts(value, balance) > 0;
      button.disabled = over;
      amountField.setAttribute("aria-invalid", String(over));
      amountError.textContent = over ? `This gift has ${fmt.moneyText({ amount: balance, currency })}: pay at most that, and the rest another way.` : "";
    },
    build: async () => {
      const built = await api("/typed-data/redemption", { certificate: form.dataset.certId, ...fieldsOf(form) });
      orderPaid.hidden = !built.orderPaid;
      return built;
    },
    encode: async (signed) => (await api("/authorizations", signed)).authorization,
    field: "#pay-authorization",
    show: (built) => {
      $("[data-testid=pay-shown-amount]").textContent = fmt.moneyText(built.amount);
      $("[data-testid=pay-shown-ref]").textContent = `Order ${built.orderRef}`;
    },
    // Paid by itself: the shop's redemption of this order shows up in the gift's history.
    taken: async (built) => {
      /** @type {{ event: string, args: Record<string, string>, amount: any, timestamp: number }[]} */
      const history = await api(`/certificates/${form.dataset.certId}/history`).catch(() => []);
      const signedAt = built.deadline - VALID_FOR - 30;  // on the chain's clock, a margin
      const paid = history.find((e) => e.event === "Redeemed" && String(e.args.orderRef) === String(built.orderRef)
        && Number(e.timestamp) >= signedAt);
      if (!paid) return "";
      orderPaid.hidden = true;
      const left = fmt.subtractAmounts(balance, built.amount.amount);
      $("[data-testid=pay-balance]").textContent = fmt.moneyText({ amount: left, currency });
      return `Paid ✓ ${fmt.moneyText(built.amount)} at ${context.merchantName}`;
    },
    flag: "paid",
    countdown: { seconds: VALID_FOR, expired: "Expired: press New payment to sign again." },
  });
}

/** A sum of money as the site writes it. @param {string} amount @param {string} currency */
const money = (amount, currency) => fmt.moneyText({ amount, currency });

/** Paying on a tab at the till: each purchase raises the running total the holder signs (the
 * merchant's latest kept total plus this purchase); the code shows both, and turns "Kept" by
 * itself once the shop has kept it. */
function tillPage() {
  const form = $form("#till-form");
  if (!form) return;
  const context = certContext();
  const currency = context.currency || "";
  const certificate = form.dataset.certId || "";
  let balance = context.balance || "0", previous = context.tabTotal || "0";
  const amountField = $field("#till-amount");
  const button = /** @type {HTMLButtonElement} */ ($("#till-sign"));
  const line = $("#till-line"), amountError = $("[data-testid=till-amount-error]");
  const showTotals = (/** @type {string} */ total) => {
    previous = total;
    $("[data-testid=till-total]").textContent = money(total, currency);
    $("[data-testid=till-left]").textContent = money(fmt.subtractAmounts(balance, total), currency);
  };
  // The new running total as the amount is typed; Sign is disabled beyond the balance.
  const check = () => {
    const value = amountField.value.trim();
    if (!fmt.isAmount(value)) { line.textContent = ""; amountError.textContent = ""; button.disabled = false; amountField.removeAttribute("aria-invalid"); return; }
    const total = fmt.addAmounts(previous, value);
    const over = fmt.compareAmounts(total, balance) > 0;
    line.textContent = `This purchase ${money(value, currency)} · tab total ${money(total, currency)}`;
    button.disabled = over;
    amountField.setAttribute("aria-invalid", String(over));
    amountError.textContent = over ? `The tab total would be ${money(total, currency)}, more than the gift's ${money(balance, currency)}: this purchase can be at most ${money(fmt.subtractAmounts(balance, previous), currency)}.` : "";
  };
  codePage("till", {
    check,
    build: () => api("/typed-data/voucher", { certificate, amount: amountField.value.trim() }),
    encode: async (signed) => (await api("/vouchers/decode", { voucher: signed })).voucher,
    field: "#till-voucher",
    show: (built) => {
      $("[data-testid=till-shown-purchase]").textContent = fmt.moneyText(built.purchase);
      $("[data-testid=till-shown-total]").textContent = fmt.moneyText(built.total);
      delete $("[data-testid=till-state]").dataset.kept;  // this voucher is not kept yet
    },
    // Kept by itself: the shop's latest kept voucher reaches this total (or the tab moved on:
    // the shop collected it).
    taken: async (built) => {
      const tab = await api(`/certificates/${certificate}/tab`).catch(() => null);
      const moved = tab && tab.epoch !== built.epoch;
      if (!(tab && (moved || fmt.compareAmounts(tab.unsettled.amount, built.total.amount) >= 0))) return "";
      balance = tab.balance.amount;  // a settle meanwhile took the total from it
      showTotals(tab.unsettled.amount);
      return `Kept ✓ tab total ${fmt.moneyText(built.total)} at ${context.merchantName}`;
    },
    flag: "kept",
    again: () => { amountField.value = ""; check(); },
  });
}

/** The desk's tabs: a pasted or scanned voucher is checked and, if good, kept at once; the open
 * tabs and their unsettled totals follow; after Settle all, what was collected. */
function tabDesk() {
  const box = $field("#tab-voucher");
  if (!box) return;
  const merchant = $("[data-merchant-id]").dataset.merchantId || "";
  const kept = $("#tab-kept");
  const settle = /** @type {HTMLButtonElement} */ ($("[data-testid=settle-tabs-submit]"));
  const refresh = async () => {
    /** @type {{ tabs: { certificate: string, ref: string, unsettled: any, balance: any, closeAt: number | null }[], unsettled: any[] }} */
    const list = await api(`/merchants/${merchant}/tabs`);
    const body = $("#open-tabs-body");
    body.replaceChildren(...list.tabs.map((t) => {
      const tr = document.createElement("tr");
      tr.dataset.testid = "open-tab";
      tr.dataset.certId = t.certificate;
      const cells = [t.ref, fmt.moneyText(t.unsettled), fmt.moneyText(t.balance),
        t.closeAt ? `${fmt.dateTimeText(t.closeAt)}: settle before` : "—"];
      for (const [i, text] of cells.entries()) {
        const td = document.createElement("td");
        td.textContent = text;
        if (i === 0) td.className = "ref";
        if (i === 1) td.dataset.testid = "open-tab-unsettled";
        tr.append(td);
      }
      return tr;
    }));
    if (!list.tabs.length) {
      const tr = document.createElement("tr"), td = document.createElement("td");
      tr.dataset.testid = "no-open-tabs"; td.colSpan = 4; td.textContent = "No tab is open here.";
      tr.append(td); body.append(tr);
    }
    $("#tabs-unsettled-total").textContent = list.unsettled.map(fmt.moneyText).join(" · ") || "nothing yet";
    const due = list.unsettled.length > 0;
    settle.disabled = !due;
    settle.setAttribute("aria-disabled", String(!due));
  };
  let asked = 0;
  box.addEventListener("input", async () => {
    const value = box.value.trim();
    const mine = ++asked;
    if (!value) { kept.replaceChildren(); kept.className = "decoded"; box.removeAttribute("aria-invalid"); return; }
    /** @type {Node[]} */
    const parts = [];
    let good = false;
    try {
      const k = await api("/vouchers", { voucher: value });
      if (mine !== asked) return;
      good = true;
      const big = document.createElement("strong");
      big.className = "amount";
      big.dataset.testid = "tab-kept-total";
      big.textContent = `Kept: tab total ${fmt.moneyText(k.total)}`;
      const again = fmt.compareAmounts(k.purchase.amount, "0") === 0;
      parts.push(big, document.createTextNode(again ? `This code was kept already · gift ${k.ref} (${fmt.moneyText(k.balance)} on it).`
        : `This purchase ${fmt.moneyText(k.purchase)} · gift ${k.ref} (${fmt.moneyText(k.balance)} on it), signed by its holder ${short(k.holder)}.`));
      if (k.warning) {
        const note = document.createElement("span");
        note.className = "warning";
        note.dataset.testid = "tab-kept-warning";
        note.textContent = ` Note: ${k.warning}.`;
        parts.push(note);
      }
    } catch (err) {
      if (mine !== asked) return;
      // Text that is no tab code at all is said as such (the parser's words are for developers).
      const unreadable = err instanceof ApiError && err.status === 400;
      const words = !unreadable ? fmt.plainMessage(messageOf(err))
        : /^gc2:/i.test(value) ? "this is a payment code, not a tab code: take it under Take a payment above"
          : "this is not a tab code: scan the code on the customer's tab page, or paste all of its text";
      parts.push(document.createTextNode(`Not kept: ${words}.`.replace(/\.\.$/, ".")));
    }
    kept.className = `decoded ${good ? "good" : "bad"}`;
    kept.dataset.state = good ? "good" : "bad";
    kept.replaceChildren(...parts);
    box.setAttribute("aria-invalid", String(!good));
    if (good) await refresh().catch(() => {});
  });
  const done = sessionStorage.getItem(TABS_SETTLED_KEY);
  if (done) {
    sessionStorage.removeItem(TABS_SETTLED_KEY);
    /** @type {{ settled: { ref: string, amount: any }[], refused: Refused[] }} */
    const { settled, refused } = JSON.parse(done);
    /** @type {Record<string, string>} */
    const sums = {};
    for (const t of settled) sums[t.amount.currency] = fmt.addAmounts(sums[t.amount.currency] || "0", t.amount.amount);
    const collected = Object.entries(sums).map(([c, a]) => money(a, c)).join(" + ") || "nothing";
    const head = document.createElement("p");
    head.dataset.testid = "tabs-settled-summary";
    head.textContent = `Settled ✓ ${settled.length} ${settled.length === 1 ? "tab" : "tabs"}: ${collected} collected, now owed to you (withdraw below).`
      + (refused.length ? ` Not collected:` : "");
    const out = $("#tabs-settled");
    out.replaceChildren(head);
    if (refused.length) { const list = document.createElement("ul"); list.append(...tabRefusals(refused)); out.append(list); }
    out.hidden = false;
  }
}

function myPage() {
  wallet.onChange((s) => { if (s.account) location.replace(`/holder/${s.account}`); });
}

async function holderPage() {
  const shown = ($("#holder-address-data").dataset.address || "").toLowerCase();
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

/** @type {Promise<any> | null} */
let merchantList = null;

/** What the desk says about one pasted or scanned code: the amount in large type and whether
 * it can be taken now (the server's reading: used, expired, another shop's, badly signed).
 * @param {string} text @returns {Promise<{ ok: boolean, amount?: string, words: string, ref?: string }>} */
async function readCode(text) {
  try {
    const d = await api("/authorizations/decode", { authorization: text });
    const desk = $("[data-merchant-id]")?.dataset.merchantId;
    if (desk && String(d.merchant) !== desk) {
      /** @type {{ id: number, name: string }[]} */
      const shops = await (merchantList ??= api("/merchants").catch(() => []));
      const name = shops.find((m) => String(m.id) === String(d.merchant))?.name || `shop number ${d.merchant}`;
      return { ok: false, words: `Cannot be taken: this payment is for ${name}, not this shop.` };
    }
    const words = `from gift ${d.ref} (${fmt.moneyText(d.balance)} on it), order ${d.orderRef}, signed by its holder ${short(d.holder)}`
      + (d.orderPaid ? `. Note: order ${d.orderRef} already has a payment here.` : "");
    return { ok: true, amount: fmt.moneyText(d.amount), words, ref: d.ref };
  } catch (err) {
    return { ok: false, words: `Cannot be taken: ${fmt.plainMessage(messageOf(err))}.`.replace(/\.\.$/, ".") };
  }
}

function merchantDesk() {
  $("#siwe-logout")?.addEventListener("click", async () => {
    await api("/siwe/logout", {});
    location.href = "/merchant/login";
  });
  const text = $field("#redeem-authorization");
  let asked = 0;
  text?.addEventListener("input", async () => {
    const details = $("#redeem-details");
    const value = text.value.trim();
    const mine = ++asked;
    if (!value) { details.replaceChildren(); details.className = "decoded"; return; }
    const read = await readCode(value);
    if (mine !== asked) return;
    details.className = `decoded ${read.ok ? "good" : "bad"}`;
    details.dataset.state = read.ok ? "good" : "bad";
    const parts = [];
    if (read.amount) {
      const big = document.createElement("strong");
      big.className = "amount";
      big.dataset.testid = "redeem-amount";
      big.textContent = read.amount;
      parts.push(big);
    }
    parts.push(document.createTextNode(read.words));
    details.replaceChildren(...parts);
    text.setAttribute("aria-invalid", String(!read.ok));
  });
  // Each line of a batch is read as it is pasted or scanned: the failing one is named.
  const batch = $field("#settle-authorizations");
  let batchAsked = 0;
  batch?.addEventListener("input", async () => {
    const mine = ++batchAsked;
    const lines = batch.value.split("\n").map((l) => l.trim()).filter(Boolean);
    const reads = await Promise.all(lines.map(readCode));
    if (mine !== batchAsked) return;
    const list = $("#settle-lines");
    list.replaceChildren(...reads.map((r, i) => {
      const item = document.createElement("li");
      item.className = r.ok ? "good" : "bad";
      item.dataset.testid = "settle-line";
      item.textContent = r.ok ? `line ${i + 1}: ${r.amount} ${r.words}` : `line ${i + 1}: ${r.words}`;
      return item;
    }));
  });
  const done = sessionStorage.getItem(REDEEMED_KEY);
  if (done) {
    sessionStorage.removeItem(REDEEMED_KEY);
    const { summary } = JSON.parse(done);
    const box = $("#redeem-done");
    box.textContent = `Paid ✓ ${summary || ""}`.trim();
    box.hidden = false;
  }
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
  tabDesk();
}

function bulkPage() {
  const form = $form("#bulk-form");
  const picker = $field("#bulk-file");
  picker.addEventListener("change", async () => {
    const file = picker.files?.[0];
    if (file) {
      $field("#bulk-rows").value = await file.text();
      $field("#bulk-rows").dispatchEvent(new Event("input", { bubbles: true }));
    }
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
        for (const v of [String(r.row), r.to ? short(String(r.to)) : "", r.amount ?? "", r.errors.map((e) => `${e.field}: ${e.error}`).join("; ")]) {
          const td = document.createElement("td"); td.textContent = v; tr.append(td);
        }
        if (r.to) /** @type {HTMLElement} */ (tr.children[1]).title = String(r.to);
        return tr;
      }));
      $("#bulk-table").hidden = false;
      $("#bulk-summary").textContent = `${out.valid} valid, ${out.invalid} with problems; total ${fmt.moneyText(out.total)}`;
    } catch (err) { showError(form, err); }
  });
}

async function main() {
  canonicalUrl();
  wallet.onChange(renderWallet);
  $("#connect-button").addEventListener("click", () => wallet.connect().catch((e) => flash(fmt.plainMessage(e.message), "warn")));
  $("#switch-network").addEventListener("click", () => wallet.switchChain().catch((e) => flash(fmt.plainMessage(e.message), "warn")));
  wireSharing();
  for (const form of $$("form[data-tx]")) wireTxForm(/** @type {HTMLFormElement} */ (form));
  tieErrors(document);
  /** @type {Record<string, () => unknown>} */
  const pages = { claim: claimPage, gift: giftPage, give: givePage, pay: payPage, tab: tillPage, my: myPage, holder: holderPage,
    "pay-request": payRequestPage, "merchant-login": merchantLogin, merchant: merchantDesk, "merchant-none": merchantDesk,
    "give-bulk": bulkPage };
  const relayed = sessionStorage.getItem(RELAYED_KEY);
  if (relayed) { sessionStorage.removeItem(RELAYED_KEY); flash(relayed, "ok"); }
  const ready = wallet.init();
  await pages[page || ""]?.();  // buttons work from the start; their actions wait for the wallet
  await ready;
  await Promise.all([resumePending(), resumeRelayed()]);
}

main().catch((err) => flash(fmt.plainMessage(err.message), "warn"));
