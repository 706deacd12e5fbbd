// Types for the type check of the browser code (npm run lint; jsconfig.json): what the page
// gets from outside, the wallet (EIP-1193, announced by EIP-6963), the browser's own QR reader
// and the vendored jsQR. Only the type checker reads this file.

/** An EIP-1193 provider (the browser wallet). */
interface Eip1193Provider {
  request(args: { method: string; params?: unknown[] | object }): Promise<any>;
  on?(event: string, listener: (...args: any[]) => void): unknown;
  isMetaMask?: boolean;
}

/** An error a provider throws (EIP-1193: 4001 refused by the user, 4902 unknown chain). */
interface ProviderRpcError extends Error {
  code?: number;
  data?: unknown;
}

/** EIP-6963 provider info and announcement. */
interface Eip6963ProviderInfo {
  uuid?: string;
  name: string;
  icon?: string;
  rdns: string;
}

interface Eip6963ProviderDetail {
  info: Eip6963ProviderInfo;
  provider: Eip1193Provider;
}

interface WindowEventMap {
  "eip6963:announceProvider": CustomEvent<Eip6963ProviderDetail>;
}

/** The browser's QR reader where it has one (not in every browser, so not in lib.dom). */
interface DetectedBarcode {
  rawValue: string;
  format: string;
}

interface BarcodeDetector {
  detect(source: CanvasImageSource | ImageBitmapSource): Promise<DetectedBarcode[]>;
}

interface BarcodeDetectorConstructor {
  new (options?: { formats: string[] }): BarcodeDetector;
  getSupportedFormats(): Promise<string[]>;
}

interface Window {
  ethereum?: Eip1193Provider;
  BarcodeDetector?: BarcodeDetectorConstructor;
  /** The wallet module's functions, for the browser tests and the console. */
  giftcertWallet?: Record<string, unknown>;
  /** Set by the vendored jsQR bundle (a UMD script) once it is imported. */
  jsQR?: typeof import("jsqr").default;
}
