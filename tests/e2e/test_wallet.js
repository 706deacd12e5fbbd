// @ts-check
// The browser-test wallet: an EIP-1193 provider injected before any page script runs
// (Playwright `context.add_init_script`). It presents itself exactly as MetaMask does
// (`isMetaMask`, `_metamask`, EIP-6963 info with rdns io.metamask, `window.ethereum`), and
// hands every request to the test process through a Playwright binding, where a Python
// `Wallet` (tests/e2e/wallet.py) keeps the state of the wallet "extension" for the whole
// browser context: the selected dev account, the current chain, connected sites, a queue
// of user rejections. Signing and sending are done by anvil's unlocked dev accounts.
//
// The test controls the wallet through a non-enumerable global (see `control` below):
//   await window.__e2eWallet.rejectNext()          the user refuses the next prompt (4001)
//   await window.__e2eWallet.switchAccount(addr)   the user picks another account
//   await window.__e2eWallet.switchChain(chainId)  the user changes network in the wallet
//
// `__WALLET_CONFIG__` is replaced with a JSON object by wallet.py before injection.
//
// Type-checked with the site's browser code (npm run lint); the types below are JSDoc.
/**
 * @typedef {{ binding: string, icon: string, windowEthereum: boolean }} WalletConfig
 * @typedef {{ result?: any, error?: { code: number, message: string, data?: unknown },
 *   events?: [string, any][] }} BridgeReply
 * @typedef {(request: { method: string, params: unknown, internal: boolean }) =>
 *   Promise<BridgeReply>} Bridge
 * @typedef {(...args: any[]) => void} Listener
 * @typedef {{ fn: Listener, once: boolean }} ListenerEntry
 * @typedef {{ method: string, params?: unknown, id?: unknown }} RequestArgs
 */
(() => {
  "use strict";
  /** @type {WalletConfig} */
  // @ts-ignore -- a placeholder until the test process writes the configuration in
  const CONFIG = __WALLET_CONFIG__;
  const page = /** @type {Record<string, unknown>} */ (/** @type {unknown} */ (window));
  const bridge = /** @type {Bridge} */ (page[CONFIG.binding]);
  if (typeof bridge !== "function" || page.__e2eWallet) {
    return;
  }

  class ProviderRpcError extends Error {
    /** @param {number} code @param {string} message @param {unknown} [data] */
    constructor(code, message, data) {
      super(message);
      this.code = code;
      if (data !== undefined) {
        this.data = data;
      }
    }
  }

  /** @type {Map<string, ListenerEntry[]>} */
  const listeners = new Map();
  /** @type {{ chainId: string | null, accounts: string[] }} */
  const state = { chainId: null, accounts: [] };

  /** @param {string} event @param {...unknown} args */
  function emit(event, ...args) {
    const list = listeners.get(event);
    if (!list) {
      return false;
    }
    for (const entry of [...list]) {
      if (entry.once) {
        list.splice(list.indexOf(entry), 1);
      }
      try {
        entry.fn.apply(provider, args);
      } catch (err) {
        setTimeout(() => { throw err; });
      }
    }
    return list.length > 0;
  }

  /** @param {[string, any][] | undefined} events */
  function applyEvents(events) {
    for (const [name, payload] of events || []) {
      if (name === "chainChanged") {
        state.chainId = payload;
      } else if (name === "accountsChanged") {
        state.accounts = payload;
      }
      emit(name, payload);
    }
  }

  /** @param {string} method @param {unknown} params @param {boolean} [internal] */
  async function call(method, params, internal) {
    const reply = await bridge({ method, params, internal: Boolean(internal) });
    applyEvents(reply.events);
    if (reply.error) {
      throw new ProviderRpcError(reply.error.code, reply.error.message, reply.error.data);
    }
    return reply.result;
  }

  /** @param {string} event @param {Listener} fn @param {boolean} once @param {boolean} prepend
   * @returns {typeof provider} */
  function addListener(event, fn, once, prepend) {
    if (typeof fn !== "function") {
      throw new TypeError('The "listener" argument must be of type function');
    }
    if (!listeners.has(event)) {
      listeners.set(event, []);
    }
    const entry = { fn, once };
    const list = /** @type {ListenerEntry[]} */ (listeners.get(event));
    if (prepend) {
      list.unshift(entry);
    } else {
      list.push(entry);
    }
    return provider;
  }

  /** @param {string} event @param {Listener} fn @returns {typeof provider} */
  function removeListener(event, fn) {
    const list = listeners.get(event);
    if (list) {
      const at = list.findIndex((entry) => entry.fn === fn);
      if (at >= 0) {
        list.splice(at, 1);
      }
    }
    return provider;
  }

  const provider = {
    isMetaMask: true,
    _metamask: {
      isUnlocked: async () => true,
      requestBatch: undefined,
    },
    get chainId() { return state.chainId; },
    get networkVersion() { return state.chainId === null ? null : String(parseInt(state.chainId, 16)); },
    get selectedAddress() { return state.accounts[0] || null; },
    isConnected: () => true,
    /** @param {RequestArgs} args @returns {Promise<any>} */
    request(args) {
      if (!args || typeof args !== "object" || Array.isArray(args)) {
        return Promise.reject(new ProviderRpcError(-32600,
          "Expected a single, non-array, object argument."));
      }
      const { method, params } = args;
      if (typeof method !== "string" || method.length === 0) {
        return Promise.reject(new ProviderRpcError(-32600,
          "'args.method' must be a non-empty string."));
      }
      if (params !== undefined && (params === null || typeof params !== "object")) {
        return Promise.reject(new ProviderRpcError(-32600,
          "'args.params' must be an object or array if provided."));
      }
      return call(method, params === undefined ? [] : params, false);
    },
    enable() { return provider.request({ method: "eth_requestAccounts" }); },
    /** @param {RequestArgs} payload @param {(error: unknown, reply: object) => void} callback */
    sendAsync(payload, callback) {
      provider.request(payload).then(
        (result) => callback(null, { id: payload.id, jsonrpc: "2.0", result }),
        (error) => callback(error, { id: payload.id, jsonrpc: "2.0", error }),
      );
    },
    /** @param {string | RequestArgs} methodOrPayload @param {any} [paramsOrCallback] */
    send(methodOrPayload, paramsOrCallback) {
      if (typeof methodOrPayload === "string") {
        return provider.request({ method: methodOrPayload, params: paramsOrCallback });
      }
      if (typeof paramsOrCallback === "function") {
        return provider.sendAsync(methodOrPayload, paramsOrCallback);
      }
      throw new ProviderRpcError(-32601, "Synchronous send is not supported");
    },
    on: (/** @type {string} */ event, /** @type {Listener} */ fn) => addListener(event, fn, false, false),
    addListener: (/** @type {string} */ event, /** @type {Listener} */ fn) => addListener(event, fn, false, false),
    once: (/** @type {string} */ event, /** @type {Listener} */ fn) => addListener(event, fn, true, false),
    prependListener: (/** @type {string} */ event, /** @type {Listener} */ fn) => addListener(event, fn, false, true),
    prependOnceListener: (/** @type {string} */ event, /** @type {Listener} */ fn) => addListener(event, fn, true, true),
    removeListener,
    off: removeListener,
    /** @param {string} [event] */
    removeAllListeners(event) {
      if (event === undefined) {
        listeners.clear();
      } else {
        listeners.delete(event);
      }
      return provider;
    },
    listeners: (/** @type {string} */ event) => (listeners.get(event) || []).map((entry) => entry.fn),
    listenerCount: (/** @type {string} */ event) => (listeners.get(event) || []).length,
    emit,
  };

  // Like MetaMask: learn the chain (and the accounts, if this site is connected) right away,
  // then say "connect".
  call("metamask_getProviderState", [], true).then((initial) => {
    state.chainId = initial.chainId;
    state.accounts = initial.accounts;
    emit("connect", { chainId: initial.chainId });
  }).catch(() => {});

  function uuidV4() {
    // crypto.randomUUID exists in secure contexts only; a plain-http site gets this.
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  const info = Object.freeze({
    uuid: uuidV4(),
    name: "MetaMask",
    icon: CONFIG.icon,
    rdns: "io.metamask",
  });
  const detail = Object.freeze({ info, provider });
  const announce = () => {
    window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail }));
  };
  window.addEventListener("eip6963:requestProvider", announce);
  announce();

  if (CONFIG.windowEthereum) {
    Object.defineProperty(window, "ethereum", {
      value: provider, configurable: true, enumerable: true, writable: false,
    });
    window.dispatchEvent(new Event("ethereum#initialized"));
  }

  // What the user would do in the wallet's own window; not part of the provider.
  const control = Object.freeze({
    rejectNext: (count = 1) => call("e2e_rejectNext", [count], true),
    switchAccount: (/** @type {string} */ address) => call("e2e_switchAccount", [address], true),
    switchChain: (/** @type {number | string} */ chainId) => call("e2e_switchChain", [chainId], true),
    disconnect: () => call("e2e_disconnect", [], true),
    state: () => call("e2e_state", [], true),
  });
  Object.defineProperty(window, "__e2eWallet", { value: control, enumerable: false });
})();
