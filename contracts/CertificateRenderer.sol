// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Base64} from "@openzeppelin/contracts/utils/Base64.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";

import {GiftCertificates, ICertificateRenderer} from "./GiftCertificates.sol";

/**
 * @title CertificateRenderer
 * @notice Builds a certificate's ERC-1155 metadata JSON with an on-chain SVG card showing the
 * merchant, remaining balance, currency, expiry and occasion. Kept apart from the escrow contract
 * so the art can change without touching funds, and so the escrow stays under the size limit.
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

    /// @notice Metadata JSON for one certificate, as a base64 data: URI.
    function render(GiftCertificates.CertificateView calldata cert) external view returns (string memory) {
        (string memory symbol, uint8 decimals) = _currencyInfo(cert.token);
        string memory amount = string.concat(formatAmount(cert.balance, decimals), " ", symbol);
        string memory occasion = occasionName(cert.occasion);
        string memory json = string.concat(
            '{"name":"',
            occasion,
            " - ",
            _escape(cert.merchantName),
            '","description":"Gift certificate redeemable at ',
            _escape(cert.merchantName),
            '","image":"data:image/svg+xml;base64,',
            Base64.encode(bytes(_svg(cert, amount, occasion))),
            '","attributes":[',
            _attributes(cert, amount, occasion),
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

    /// @notice A unix time as an ISO date (UTC), e.g. "2031-11-26".
    // Integer calendar arithmetic: every division is meant to truncate before the next step.
    // slither-disable-start divide-before-multiply
    function formatDate(uint256 timestamp) public pure returns (string memory) {
        // Howard Hinnant's civil_from_days.
        uint256 z = timestamp / 1 days + 719468;
        uint256 era = z / 146097;
        uint256 doe = z - era * 146097;
        uint256 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        uint256 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        uint256 mp = (5 * doy + 2) / 153;
        uint256 day = doy - (153 * mp + 2) / 5 + 1;
        uint256 month = mp < 10 ? mp + 3 : mp - 9;
        uint256 year = yoe + era * 400 + (month <= 2 ? 1 : 0);
        return string.concat(year.toString(), "-", _twoDigits(month), "-", _twoDigits(day));
    }
    // slither-disable-end divide-before-multiply

    function _twoDigits(uint256 value) private pure returns (string memory) {
        return value < 10 ? string.concat("0", value.toString()) : value.toString();
    }

    function _attributes(GiftCertificates.CertificateView calldata cert, string memory amount, string memory occasion)
        private
        pure
        returns (string memory)
    {
        return string.concat(
            '{"trait_type":"Merchant","value":"',
            _escape(cert.merchantName),
            '"},{"trait_type":"Balance","value":"',
            amount,
            '"},{"trait_type":"Occasion","value":"',
            occasion,
            '"},{"display_type":"date","trait_type":"Opens","value":',
            uint256(cert.validFrom).toString(),
            '},{"display_type":"date","trait_type":"Expires","value":',
            uint256(cert.expiry).toString(),
            "}"
        );
    }

    function _svg(GiftCertificates.CertificateView calldata cert, string memory amount, string memory occasion)
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
            occasion,
            '</text><text x="24" y="80" font-size="15" fill="#f4f4f4">',
            _escape(cert.merchantName),
            '</text><text x="24" y="150" font-size="34" font-weight="bold" fill="#fff">',
            amount,
            '</text><text x="24" y="222" font-size="13" fill="#eee">Valid until ',
            formatDate(cert.expiry),
            "</text></svg>"
        );
    }

    function _currencyInfo(address token) private view returns (string memory symbol, uint8 decimals) {
        if (token == address(0)) return ("ETH", 18);
        try IERC20Metadata(token).symbol() returns (string memory s) {
            symbol = s;
        } catch {
            symbol = "TOKEN";
        }
        try IERC20Metadata(token).decimals() returns (uint8 d) {
            decimals = d;
        } catch {
            decimals = 18;
        }
    }

    /// @dev Merchant names come from the registrar; escape what would break JSON or SVG.
    function _escape(string memory text) private pure returns (string memory) {
        bytes memory input = bytes(text);
        bytes memory out = new bytes(input.length);
        for (uint256 i; i < input.length; ++i) {
            bytes1 c = input[i];
            out[i] = (c == '"' || c == "\\" || c == "<" || c == ">" || c == "&" || uint8(c) < 0x20) ? bytes1("_") : c;
        }
        return string(out);
    }
}
