// @ts-check
// The browser wallet: EIP-6963 discovery (falling back to window.ethereum), account and
// network state, chain switching, transactions with the pending hash kept in localStorage.
const PENDING_KEY = "giftcert.pending";
const body = document.body;
export const expectedChainId = Number(body.dataset.chainId);
const rpcUrl = body.dataset.rpcUrl || "";

/**
 * @typedef {{ provider: Eip1193Provider | null, info: Eip6963ProviderInfo | null,
 *   account: string | null, chainId: number | null }} WalletState
 * @typedef {{ to: string, data: string, value: string, gas: string }} UnsignedTx
 */

/** @type {Eip6963ProviderDetail[]} */
const announced = [];
/** @type {WalletState} */
const state = { provider: null, info: null, account: null, chainId: null };
/** @type {Set<(s: WalletState) => void>} */
const subscribers = new Set();

window.addEventListener("eip6963:announceProvider", (event) => {
  if (event.detail && event.detail.provider && !announced.some((d) => d.provider === event.detail.provider)) {
    announced.push(event.detail);
  }
});

function notify() { for (const fn of subscribers) fn({ ...state }); }
/** Calls `fn` now and after every change; returns the unsubscribe function.
 * @param {(s: WalletState) => void} fn */
export function onChange(fn) { subscribers.add(fn); fn({ ...state }); return () => subscribers.delete(fn); }
export function current() { return { ...state }; }
export function providers() { return announced.map((d) => d.info); }

/** The wallet to use: the first EIP-6963 announcement, else window.ethereum.
 * @returns {Promise<Eip6963ProviderDetail | null>} */
export async function discover(waitMs = 200) {
  window.dispatchEvent(new Event("eip6963:requestProvider"));
  await new Promise((r) => setTimeout(r, announced.length ? 0 : waitMs));
  if (announced.length) return announced[0];
  if (window.ethereum) return { info: { name: "Browser wallet", rdns: "window.ethereum" }, provider: window.ethereum };
  return null;
}

// Discovery takes a moment (EIP-6963 announcements); the page wires its buttons at once and
// every action waits for the one discovery, so an early click is not lost.
/** @type {Promise<Eip6963ProviderDetail | null> | null} */
let initialising = null;
/** @returns {Promise<Eip6963ProviderDetail | null>} */
export function init() {
  initialising ??= initialise();
  return initialising;
}

async function initialise() {
  const found = await discover();
  if (!found) { notify(); return null; }
  const provider = found.provider;
  state.provider = provider;
  state.info = found.info;
  provider.on?.("accountsChanged", (/** @type {string[]} */ accounts) => {
    state.account = accounts[0] || null; notify(); });
  provider.on?.("chainChanged", (/** @type {string} */ id) => { state.chainId = Number(id); notify(); });
  try {
    const [accounts, chain] = await Promise.all([
      provider.request({ method: "eth_accounts" }),
      provider.request({ method: "eth_chainId" }),
    ]);
    state.account = accounts[0] || null;
    state.chainId = Number(chain);
  } catch (e) { /* a locked wallet: stays disconnected */ }
  notify();
  return found;
}

export class WalletError extends Error {}

/** The wallet's provider, or a WalletError saying there is none. */
function need() {
  if (!state.provider) throw new WalletError("No wallet found: install a browser wallet such as MetaMask.");
  return state.provider;
}

/** What a provider threw, read as { code, message } (wallets throw Errors or plain objects).
 * @param {unknown} e @returns {ProviderRpcError} */
function rpcError(e) {
  return /** @type {ProviderRpcError} */ (e && typeof e === "object" ? e : new Error(String(e)));
}

export async function connect() {
  await init();
  const provider = need();
  try {
    const accounts = await provider.request({ method: "eth_requestAccounts" });
    state.account = accounts[0] || null;
    state.chainId = Number(await provider.request({ method: "eth_chainId" }));
  } catch (thrown) {
    const e = rpcError(thrown);
    throw new WalletError(e.code === 4001 ? "You declined the connection in your wallet." : e.message);
  }
  notify();
  return state.account;
}

/** Connected, on the site's chain: the account. @returns {Promise<string>} */
export async function ensureReady() {
  await init();
  const account = state.account || await connect();
  if (!account) throw new WalletError("Your wallet gave no account: unlock it and connect again.");
  if (state.chainId !== expectedChainId) await switchChain();
  return state.account || account;
}

export async function switchChain() {
  await init();
  const provider = need();
  const chainId = "0x" + expectedChainId.toString(16);
  try {
    await provider.request({ method: "wallet_switchEthereumChain", params: [{ chainId }] });
  } catch (thrown) {
    const e = rpcError(thrown);
    if (e.code === 4902 && rpcUrl) {
      await provider.request({ method: "wallet_addEthereumChain", params: [{
        chainId, chainName: expectedChainId === 31337 ? "giftcert local (anvil)" : `Chain ${expectedChainId}`,
        nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: [rpcUrl] }] });
    } else if (e.code === 4001) {
      throw new WalletError("You declined switching the network.");
    } else {
      throw new WalletError(`Switch your wallet to chain ${expectedChainId}: ${e.message}`);
    }
  }
  state.chainId = Number(await provider.request({ method: "eth_chainId" }));
  notify();
}

/** The transaction sent before this page loaded, if it was not seen through.
 * @returns {{ hash: string, after?: string, certificate?: string, claimKey?: string } | null} */
export function pending() {
  try { return JSON.parse(localStorage.getItem(PENDING_KEY) || "null"); } catch { return null; }
}
export function clearPending() { localStorage.removeItem(PENDING_KEY); }

/** Sends `tx` from the wallet; the hash is kept (with `meta`) to resume after a reload.
 * @param {UnsignedTx} tx @param {Record<string, unknown>} meta @returns {Promise<string>} */
export async function sendTransaction(tx, meta = {}) {
  const from = await ensureReady();
  const provider = need();
  let hash;
  try {
    hash = await provider.request({ method: "eth_sendTransaction", params: [{
      from, to: tx.to, data: tx.data, value: tx.value, gas: tx.gas }] });
  } catch (thrown) {
    const e = rpcError(thrown);
    throw new WalletError(e.code === 4001 ? "You rejected the transaction in your wallet: nothing was sent." : e.message);
  }
  localStorage.setItem(PENDING_KEY, JSON.stringify({ hash, ...meta, at: Date.now() }));
  return hash;
}

/** @param {string} hash @returns {Promise<{ status: string, blockNumber: string }>} */
export async function waitForReceipt(hash, timeoutMs = 180000) {
  const provider = need();
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    const receipt = await provider.request({ method: "eth_getTransactionReceipt", params: [hash] });
    if (receipt) return receipt;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new WalletError(`Transaction ${hash} is still pending; this page will keep checking after a reload.`);
}

/** The connected account's ETH, in wei, as its wallet's network reports it (what it can pay
 * fees with). @returns {Promise<bigint>} */
export async function balance() {
  const account = await ensureReady();
  return BigInt(await need().request({ method: "eth_getBalance", params: [account, "latest"] }));
}

/** @param {object} typedData EIP-712 typed data @returns {Promise<string>} the signature */
export async function signTypedData(typedData) {
  const account = await ensureReady();
  try {
    return await need().request({ method: "eth_signTypedData_v4",
      params: [account, JSON.stringify(typedData)] });
  } catch (thrown) {
    const e = rpcError(thrown);
    throw new WalletError(e.code === 4001 ? "You declined to sign." : e.message);
  }
}

/** @param {string} message @returns {Promise<string>} the signature */
export async function personalSign(message) {
  const account = await ensureReady();
  const hex = "0x" + Array.from(new TextEncoder().encode(message), (b) => b.toString(16).padStart(2, "0")).join("");
  try {
    return await need().request({ method: "personal_sign", params: [hex, account] });
  } catch (thrown) {
    const e = rpcError(thrown);
    throw new WalletError(e.code === 4001 ? "You declined to sign in." : e.message);
  }
}

window.giftcertWallet = { init, connect, switchChain, current, providers, pending, clearPending,
  sendTransaction, waitForReceipt, signTypedData, personalSign, balance };
