"""Batch rows (one certificate each): one parser for a CSV file, pasted CSV text and a JSON list.

CSV columns are `recipient,amount[,message]` (a header row naming the first column
`recipient`, `address` or `to` is skipped; blank lines are ignored). `check_rows` checks every
row and reports each problem by row number and field, so a person can fix them all at once;
only rows without errors carry the checksummed recipient and the amount in smallest units.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from giftcert.errors import InvalidInput
from giftcert.inputs import checksum, message_text
from giftcert.money import CurrencyInfo

HEADERS = ("recipient", "address", "to")


@dataclass(frozen=True)
class RowError:
    field: str  # "to", "amount", "message" or "row"
    error: str

    def to_json(self) -> dict[str, str]:
        return {"field": self.field, "error": self.error}


@dataclass(frozen=True)
class Row:
    """One batch row as given, its problems, and (when it has none) what the contract takes."""

    row: int  # 1-based, as a person counts rows (after the header)
    to: Any
    amount: Any
    message: str = ""
    errors: tuple[RowError, ...] = ()
    recipient: str | None = None  # checksummed, when valid
    units: int | None = None  # smallest units, when valid

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_json(self) -> dict[str, Any]:
        return {"row": self.row, "to": self.to, "amount": self.amount, "message": self.message,
                "errors": [e.to_json() for e in self.errors]}


def csv_items(text: str) -> list[dict[str, str]]:
    """The raw rows of CSV text as {to, amount, message} (header and blank lines dropped)."""
    lines = [r for r in csv.reader(io.StringIO(text)) if r and any(c.strip() for c in r)]
    if lines and lines[0][0].strip().lower() in HEADERS:
        lines = lines[1:]
    return [{"to": r[0].strip(), "amount": r[1].strip() if len(r) > 1 else "",
             "message": r[2].strip() if len(r) > 2 else ""} for r in lines]


def read_csv_file(path: Path | str) -> str:
    """A CSV file's text; an unreadable file is an InvalidInput saying which and why."""
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InvalidInput(f"cannot read {path}: {reason}", "csv") from None


def check_rows(source: str | Sequence[Any], currency: CurrencyInfo) -> list[Row]:
    """Every row of CSV text or of a list of {to, amount[, message]} objects, checked."""
    if isinstance(source, str):
        items: Sequence[Any] = csv_items(source)
    elif isinstance(source, Sequence):
        items = source
    else:
        raise InvalidInput("rows must be CSV text or a list of {to, amount}", "rows")
    return [_check(i, item, currency) for i, item in enumerate(items, start=1)]


def _check(number: int, item: Any, currency: CurrencyInfo) -> Row:
    if not isinstance(item, Mapping):
        return Row(number, None, None, errors=(RowError("row", "not an object"),))
    to, amount, message = item.get("to"), item.get("amount"), item.get("message") or ""
    errors: list[RowError] = []
    recipient = units = None
    try:
        recipient = checksum(to, "to")
    except InvalidInput as exc:
        errors.append(RowError("to", exc.message))
    try:
        if amount is None or (isinstance(amount, str) and not amount.strip()):
            raise InvalidInput("amount is required", "amount")
        units = currency.units(amount.strip() if isinstance(amount, str) else amount)
    except InvalidInput as exc:
        errors.append(RowError("amount", exc.message))
    try:
        message = message_text(message)
    except InvalidInput as exc:
        errors.append(RowError("message", exc.message))
    if errors:
        return Row(number, to, amount, message if isinstance(message, str) else "",
                   tuple(errors))
    return Row(number, to, amount, message, (), recipient, units)


def valid_rows(rows: Sequence[Row]) -> list[Row]:
    """The rows, if every one is valid; otherwise InvalidInput listing each problem."""
    if not rows:
        raise InvalidInput("no rows to issue", "rows")
    bad = [f"row {r.row}: {e.field}: {e.error}" for r in rows for e in r.errors]
    if bad:
        more = f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""
        raise InvalidInput("fix these rows first: " + "; ".join(bad[:3]) + more, "rows")
    return list(rows)


def read_csv_rows(path: Path | str) -> list[tuple[str, str]]:
    """(recipient, amount) text pairs from a CSV file, as given (check them with check_rows or
    let GiftCert.issue_batch do it)."""
    return [(item["to"], item["amount"]) for item in csv_items(read_csv_file(path))]
