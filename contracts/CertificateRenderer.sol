// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Base64} from "@openzeppelin/contracts/utils/Base64.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";

import {IGiftCertificatesTypes, ICertificateRenderer} from "./interfaces/IGiftCertificates.sol";

/**
 * @title CertificateRenderer
 * @notice Builds a certificate's ERC-1155 metadata JSON with an on-chain SVG card showing the
 * merchant, remaining balance, currency, expiry and occasion. Kept apart from the escrow contract
 * so the art can change without touching funds, and so the escrow stays under the size limit.
 *
 * The output is valid for any input. Every text that reaches it (merchant name, token symbol,
 * occasion name) is first made well-formed UTF-8, then escaped for where it goes:
 *  - UTF-8: each ill-formed sequence (stray continuation byte, overlong form, encoded surrogate,
 *    code point above U+10FFFF, truncated sequence) becomes one U+FFFD, replacing the maximal
 *    subpart as Unicode recommends (the same result as Python's `bytes.decode("utf-8",
 *    "replace")`). Well-formed text, non-ASCII included, is kept as it is.
 *  - JSON strings: `"` and `\` are backslash-escaped, control characters below U+0020 become
 *    `\u00XX`; a JSON parser gives back the (well-formed) text exactly.
 *  - SVG text (base64 inside the JSON, so XML escaping only): `& < > " '` become entities,
 *    carriage return becomes `&#13;` (so the parser keeps it), tab and newline stay, and the
 *    characters XML 1.0 forbids (other controls below U+0020, U+FFFE, U+FFFF) become U+FFFD.
 *
 * Token symbols are untrusted (a token can change its symbol at any time): symbol() is called
 * with at most {CALL_GAS} gas, at most {MAX_SYMBOL_BYTES} + 3 bytes of its answer are copied,
 * and the cleaned symbol is cut to at most {MAX_SYMBOL_BYTES} bytes on a character boundary.
 * A reverting call, malformed ABI, or an empty symbol shows as "TOKEN"; a `bytes32` answer
 * (older tokens) is read up to its first zero byte. decimals() likewise: a failed call, short
 * answer or a value above {MAX_DECIMALS} (where 10**decimals overflows) counts as 18.
 */
contract CertificateRenderer is ICertificateRenderer {
    using Strings for uint256;

    /// @notice Occasion names by the occasion number stored in certificate ids.
    function occasionName(uint8 occasion) public pure returns (string memory) {
        string[8] memory names = [
            "Gift",
            "Happy Birthday",
            "Thank You",
            "Happy Holidays",
            "Congratulations",
            "Get Well Soon",
            "Happy Wedding",
            "Welcome Baby"
        ];
        return occasion < names.length ? names[occasion] : names[0];
    }

    /// @notice Gas given to each of a token's symbol() and decimals() calls.
    uint256 public constant CALL_GAS = 100_000;
    /// @notice Longest token symbol shown, in bytes of UTF-8.
    uint256 public constant MAX_SYMBOL_BYTES = 32;
    /// @notice Largest decimals() believed: 10**77 is the largest power of ten in a uint256.
    uint256 public constant MAX_DECIMALS = 77;

    bytes16 private constant HEX = "0123456789abcdef";

    /// @dev The texts of a card, each well-formed UTF-8 and not yet escaped.
    struct Texts {
        string merchant;
        string occasion;
        string amount; // digits and a dot only (the attributes, for machines)
        string shown; // the card's amount as the site writes it: "1,000.00", "12.50"
        string symbol;
    }

    /// @notice Metadata JSON for one certificate, as a base64 data: URI. Never reverts on
    /// hostile text or a hostile token (see the contract notes).
    function render(IGiftCertificatesTypes.CertificateView calldata cert) external view returns (string memory) {
        Texts memory t = Texts("", "", "", "", "");
        uint8 decimals;
        (t.symbol, decimals) = _currencyInfo(cert.token);
        t.merchant = _utf8(bytes(cert.merchantName), type(uint256).max);
        t.occasion = occasionName(cert.occasion);
        t.amount = formatAmount(cert.balance, decimals);
        t.shown = displayAmount(t.amount);
        string memory merchant = _json(t.merchant);
        string memory json = string.concat(
            '{"name":"',
            _json(t.occasion),
            " - ",
            merchant,
            '","description":"Gift certificate redeemable at ',
            merchant,
            '","image":"data:image/svg+xml;base64,',
            Base64.encode(bytes(_svg(cert, t))),
            '","attributes":[',
            _attributes(cert, t, merchant),
            "]}"
        );
        return string.concat("data:application/json;base64,", Base64.encode(bytes(json)));
    }

    /// @notice `value` in a currency's smallest unit as a decimal string, e.g. 12500000 (6) -> "12.5".
    function formatAmount(uint256 value, uint8 decimals) public pure returns (string memory) {
        uint256 unit = 10 ** decimals;
        string memory whole = (value / unit).toString();
        uint256 fraction = value % unit;
        if (fraction == 0) return whole;
        bytes memory digits = bytes(fraction.toString());
        uint256 zeros = decimals - digits.length;
        uint256 end = digits.length;
        while (digits[end - 1] == "0") --end;
        bytes memory out = new bytes(zeros + end);
        for (uint256 i; i < zeros; ++i) out[i] = "0";
        for (uint256 i; i < end; ++i) out[zeros + i] = digits[i];
        return string.concat(whole, ".", string(out));
    }

    /// @notice A plain decimal amount (from {formatAmount}) as people read it, the way the site
    /// writes amounts: thousands grouped, at least two decimals ("1000" -> "1,000.00",
    /// "12.5" -> "12.50", "0.005" stays).
    function displayAmount(string memory plain) public pure returns (string memory) {
        bytes memory text = bytes(plain);
        uint256 dot = text.length;
        for (uint256 i; i < text.length; ++i) {
            if (text[i] == ".") dot = i;
        }
        uint256 fractionDigits = dot < text.length ? text.length - dot - 1 : 0;
        uint256 padding = fractionDigits < 2 ? 2 - fractionDigits : 0;
        uint256 commas = dot == 0 ? 0 : (dot - 1) / 3;
        bytes memory out = new bytes(dot + commas + 1 + fractionDigits + padding);
        uint256 o;
        for (uint256 i; i < dot; ++i) {
            if (i != 0 && (dot - i) % 3 == 0) out[o++] = ",";
            out[o++] = text[i];
        }
        out[o++] = ".";
        for (uint256 i = dot + 1; i < text.length; ++i) out[o++] = text[i];
        for (uint256 i; i < padding; ++i) out[o++] = "0";
        return string(out);
    }

    /// @notice A unix time as people write a day, the way the site does: "3 Dec 2026" (UTC).
    function displayDate(uint256 timestamp) public pure returns (string memory) {
        (uint256 year, uint256 month, uint256 day) = _civil(timestamp);
        bytes memory months = "JanFebMarAprMayJunJulAugSepOctNovDec";
        bytes memory name = new bytes(3);
        for (uint256 i; i < 3; ++i) name[i] = months[(month - 1) * 3 + i];
        return string.concat(day.toString(), " ", string(name), " ", year.toString());
    }

    /// @dev Year, month (1-12) and day of a unix time (UTC).
    // Integer calendar arithmetic: every division is meant to truncate before the next step.
    // slither-disable-start divide-before-multiply
    function _civil(uint256 timestamp) private pure returns (uint256 year, uint256 month, uint256 day) {
        // Howard Hinnant's civil_from_days.
        uint256 z = timestamp / 1 days + 719468;
        uint256 era = z / 146097;
        uint256 doe = z - era * 146097;
        uint256 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        uint256 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        uint256 mp = (5 * doy + 2) / 153;
        day = doy - (153 * mp + 2) / 5 + 1;
        month = mp < 10 ? mp + 3 : mp - 9;
        year = yoe + era * 400 + (month <= 2 ? 1 : 0);
    }
    // slither-disable-end divide-before-multiply

    function _attributes(
        IGiftCertificatesTypes.CertificateView calldata cert,
        Texts memory t,
        string memory merchant
    ) private pure returns (string memory) {
        return string.concat(
            '{"trait_type":"Merchant","value":"',
            merchant,
            '"},{"trait_type":"Balance","value":"',
            t.amount,
            " ",
            _json(t.symbol),
            '"},{"trait_type":"Occasion","value":"',
            _json(t.occasion),
            '"},{"display_type":"date","trait_type":"Opens","value":',
            uint256(cert.validFrom).toString(),
            '},{"display_type":"date","trait_type":"Expires","value":',
            uint256(cert.expiry).toString(),
            "}"
        );
    }

    function _svg(IGiftCertificatesTypes.CertificateView calldata cert, Texts memory t)
        private
        pure
        returns (string memory)
    {
        string memory hue = (uint256(cert.merchant) * 67 % 360).toString();
        return string.concat(
            '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 250" font-family="sans-serif">',
            '<rect width="400" height="250" rx="18" fill="hsl(',
            hue,
            ',55%,38%)"/><text x="24" y="44" font-size="22" fill="#fff">',
            _xml(t.occasion),
            '</text><text x="24" y="80" font-size="15" fill="#f4f4f4">',
            _xml(t.merchant),
            '</text><text x="24" y="150" font-size="34" font-weight="bold" fill="#fff">',
            t.shown,
            " ",
            _xml(t.symbol),
            '</text><text x="24" y="222" font-size="13" fill="#eee">Valid until ',
            displayDate(cert.expiry),
            "</text></svg>"
        );
    }

    // ------------------------------------------------------------------ the token's answers

    /// @dev Symbol (well-formed UTF-8, at most MAX_SYMBOL_BYTES) and decimals of a currency.
    function _currencyInfo(address token) private view returns (string memory symbol, uint8 decimals) {
        if (token == address(0)) return ("ETH", 18);
        symbol = _utf8(_rawSymbol(token), MAX_SYMBOL_BYTES);
        if (bytes(symbol).length == 0) symbol = "TOKEN";
        decimals = _decimals(token);
    }

    /// @dev symbol()'s string (or bytes32) answer, at most MAX_SYMBOL_BYTES + 3 bytes of it (so
    /// a character starting inside the limit is seen whole); empty when the answer is malformed.
    function _rawSymbol(address token) private view returns (bytes memory raw) {
        bool ok;
        uint256 size;
        assembly ("memory-safe") {
            mstore(0x00, shl(224, 0x95d89b41)) // symbol()
            ok := staticcall(CALL_GAS, token, 0x00, 4, 0x00, 0x00)
            size := returndatasize()
        }
        if (!ok) return raw;
        if (size == 32) {
            // bytes32 symbol: up to the first zero byte.
            raw = _returned(0, 32);
            uint256 n;
            while (n < 32 && raw[n] != 0) ++n;
            assembly ("memory-safe") {
                mstore(raw, n)
            }
            return raw;
        }
        if (size < 64) return raw;
        uint256 offset = _returnedWord(0);
        if (offset > size - 32) return raw;
        uint256 length = _returnedWord(offset);
        if (length > size - offset - 32) return raw;
        uint256 copy = MAX_SYMBOL_BYTES + 3;
        return _returned(offset + 32, length < copy ? length : copy);
    }

    function _decimals(address token) private view returns (uint8) {
        bool ok;
        uint256 size;
        uint256 value;
        assembly ("memory-safe") {
            mstore(0x00, shl(224, 0x313ce567)) // decimals()
            ok := staticcall(CALL_GAS, token, 0x00, 4, 0x00, 0x20)
            size := returndatasize()
            value := mload(0x00)
        }
        return ok && size >= 32 && value <= MAX_DECIMALS ? uint8(value) : 18;
    }

    /// @dev `length` bytes of the last call's return data from `from` (the caller checked the range).
    function _returned(uint256 from, uint256 length) private pure returns (bytes memory out) {
        out = new bytes(length);
        assembly ("memory-safe") {
            returndatacopy(add(out, 0x20), from, length)
        }
    }

    function _returnedWord(uint256 from) private pure returns (uint256 word) {
        assembly ("memory-safe") {
            returndatacopy(0x00, from, 0x20)
            word := mload(0x00)
        }
    }

    // ------------------------------------------------------------------ text

    /// @dev `raw` as well-formed UTF-8 (each ill-formed maximal subpart becomes U+FFFD), cut
    /// before the first character that would take it over `max` bytes.
    function _utf8(bytes memory raw, uint256 max) private pure returns (string memory) {
        uint256 cap = raw.length * 3;
        bytes memory out = new bytes(cap < max ? cap : max);
        uint256 n;
        uint256 i;
        while (i < raw.length) {
            (uint256 used, bool wellFormed) = _sequence(raw, i);
            uint256 width = wellFormed ? used : 3;
            if (n + width > max) break;
            if (wellFormed) {
                for (uint256 k; k < used; ++k) out[n + k] = raw[i + k];
            } else {
                out[n] = 0xEF;
                out[n + 1] = 0xBF;
                out[n + 2] = 0xBD;
            }
            n += width;
            i += used;
        }
        assembly ("memory-safe") {
            mstore(out, n)
        }
        return string(out);
    }

    /// @dev The UTF-8 sequence at `s[i]`: its length and true when well-formed (Unicode table
    /// 3-7), else the length of its maximal ill-formed subpart (at least 1) and false.
    function _sequence(bytes memory s, uint256 i) private pure returns (uint256, bool) {
        uint8 c = uint8(s[i]);
        if (c < 0x80) return (1, true);
        uint256 need;
        uint8 lo = 0x80;
        uint8 hi = 0xBF;
        if (c < 0xC2) return (1, false);
        else if (c < 0xE0) need = 2;
        else if (c < 0xF0) {
            need = 3;
            if (c == 0xE0) lo = 0xA0;
            else if (c == 0xED) hi = 0x9F; // no surrogates
        } else if (c < 0xF5) {
            need = 4;
            if (c == 0xF0) lo = 0x90;
            else if (c == 0xF4) hi = 0x8F; // nothing above U+10FFFF
        } else {
            return (1, false);
        }
        for (uint256 k = 1; k < need; ++k) {
            if (i + k >= s.length) return (k, false);
            uint8 b = uint8(s[i + k]);
            if (b < lo || b > hi) return (k, false);
            (lo, hi) = (0x80, 0xBF);
        }
        return (need, true);
    }

    /// @dev Well-formed UTF-8 `text` as the inside of a JSON string.
    function _json(string memory text) private pure returns (string memory) {
        bytes memory s = bytes(text);
        bytes memory out = new bytes(s.length * 6);
        uint256 n;
        for (uint256 i; i < s.length; ++i) {
            bytes1 c = s[i];
            if (c == '"' || c == "\\") {
                out[n++] = "\\";
                out[n++] = c;
            } else if (uint8(c) < 0x20) {
                out[n++] = "\\";
                out[n++] = "u";
                out[n++] = "0";
                out[n++] = "0";
                out[n++] = HEX[uint8(c) >> 4];
                out[n++] = HEX[uint8(c) & 0x0f];
            } else {
                out[n++] = c;
            }
        }
        assembly ("memory-safe") {
            mstore(out, n)
        }
        return string(out);
    }

    /// @dev Well-formed UTF-8 `text` as XML 1.0 character data.
    function _xml(string memory text) private pure returns (string memory) {
        bytes memory s = bytes(text);
        bytes memory out = new bytes(s.length * 6);
        uint256 n;
        for (uint256 i; i < s.length; ++i) {
            bytes1 c = s[i];
            bytes memory put;
            if (c == "&") put = "&amp;";
            else if (c == "<") put = "&lt;";
            else if (c == ">") put = "&gt;";
            else if (c == '"') put = "&quot;";
            else if (c == "'") put = "&apos;";
            else if (c == "\r") put = "&#13;";
            else if (uint8(c) < 0x20 && c != "\t" && c != "\n") put = hex"efbfbd";
            else if (c == 0xEF && i + 2 < s.length && s[i + 1] == 0xBF && uint8(s[i + 2]) >= 0xBE) {
                put = hex"efbfbd"; // U+FFFE and U+FFFF are not XML characters
                i += 2;
            } else {
                out[n++] = c;
                continue;
            }
            for (uint256 k; k < put.length; ++k) out[n++] = put[k];
        }
        assembly ("memory-safe") {
            mstore(out, n)
        }
        return string(out);
    }
}
