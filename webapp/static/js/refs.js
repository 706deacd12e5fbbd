// @ts-check
// Short gift references: "7K2M-Q9XD" stands for a certificate's 77-digit id on screen and in
// links. The first 40 bits of keccak256(id as 32 bytes), in Crockford's base32 (no I, L, O, U);
// the server resolves one back to its id (webapp/present.py: gift_ref, the same rule).
import { keccak_256 } from "@noble/hashes/sha3.js";
import { hexToBytes } from "@noble/hashes/utils.js";

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** The short reference of a certificate id (decimal text or bigint). @param {string | bigint} id */
export function refOf(id) {
  const hash = keccak_256(hexToBytes(BigInt(id).toString(16).padStart(64, "0")));
  let bits = 0n;
  for (const byte of hash.slice(0, 5)) bits = (bits << 8n) | BigInt(byte);
  let out = "";
  for (let i = 7; i >= 0; i--) out += ALPHABET[Number((bits >> BigInt(5 * i)) & 31n)];
  return `${out.slice(0, 4)}-${out.slice(4)}`;
}
