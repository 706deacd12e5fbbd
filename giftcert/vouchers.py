"""The merchant's voucher store (issue 17): the latest voucher of each open tab, in the database
every web worker shares (table `tab_vouchers`, revision 0004).

`VoucherStore.keep(verified)` is the one way in, and it takes only what the merchant's check
made: a `giftcert.tabs.VerifiedVoucher` (or the `VoucherCheck` holding one), which only
`check_voucher` produces (the tab's signer signed it for this chain and contract, it is of the
tab's current epoch, within the balance, for the certificate's merchant). Anything else (a bare
`SignedVoucher`, a refused check, a hand-made or altered VerifiedVoucher) is refused before the
database is touched. A verified voucher replaces the stored one only if it is newer: the same
epoch and a strictly higher running total, or a newer epoch. That is one compare-and-set
statement (an upsert whose update has that condition), so two workers keeping vouchers of one
tab at once never let an older one win, on SQLite and PostgreSQL alike.

A voucher goes when its epoch can no longer be collected: the indexer forgets the kept vouchers
of an epoch in the same transaction that indexes its `TabSettled` (or the `TabClosed` that ends
it), `forget_void(conn, ...)`, whoever settled it and whether or not anyone reads that
transaction; the keeper forgets what it settled or found void (`remove`).

Totals are decimal text (up to 2**88: more than a database integer holds), compared by length
and then as text, which orders decimal numbers without leading zeros.

Created by the migrations, never here (`giftcert db upgrade`, or a SQLite database's automatic
upgrade); a change needs a new revision.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Engine,
    Float,
    MetaData,
    String,
    Table,
    Text,
    and_,
    bindparam,
    delete,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from giftcert.database import NAMING_CONVENTION, open_engine
from giftcert.tabs import SignedVoucher, VerifiedVoucher, VoucherCheck

metadata = MetaData(naming_convention=NAMING_CONVENTION)

vouchers_table = Table(
    "tab_vouchers", metadata,
    Column("certificate", String(78), primary_key=True),  # uint256 as decimal text
    Column("merchant", BigInteger, nullable=False, index=True),  # the id's top 32 bits
    Column("epoch", BigInteger, nullable=False),
    Column("cumulative", String(80), nullable=False),  # smallest units, decimal text
    Column("signature", Text, nullable=False),  # 0x hex
    Column("updated_at", Float, nullable=False),  # unix time it was kept
)


@dataclass(frozen=True)
class StoredVoucher:
    """A kept voucher: the latest running total of one tab, not settled yet."""

    voucher: SignedVoucher
    merchant: int
    updated_at: float

    @property
    def certificate(self) -> int:
        return self.voucher.certificate

    @property
    def currency_id(self) -> int:
        return self.voucher.currency_id

    @property
    def unsettled(self) -> int:
        """Smallest units the merchant has served on the tab and not collected (a settle moves
        the epoch on, and the keeper removes what it settled)."""
        return self.voucher.cumulative

    def to_json(self) -> dict[str, Any]:
        return {**self.voucher.to_json(), "merchant": self.merchant,
                "updatedAt": self.updated_at}


def _greater(new: Any, old: Any) -> ColumnElement[bool]:
    """Decimal text `new` > `old` (no leading zeros): longer, or as long and greater."""
    from sqlalchemy import func

    return or_(func.length(new) > func.length(old),
               and_(func.length(new) == func.length(old), new > old))


def verified_voucher(verified: Any) -> SignedVoucher:
    """The voucher of check_voucher's verdict, if it passed: a VoucherCheck refused raises its
    refusal, anything not made by check_voucher (a bare voucher, a forged or altered
    VerifiedVoucher) is a TypeError."""
    if isinstance(verified, VoucherCheck):
        if verified.verified is None:
            if verified.refusal is not None:
                raise verified.refusal
            raise TypeError("this VoucherCheck was not made by check_voucher")
        verified = verified.verified
    if not isinstance(verified, VerifiedVoucher):
        raise TypeError(f"the voucher store keeps only what check_voucher verified, not "
                        f"{type(verified).__name__}")
    if not verified.genuine():  # e.g. object.__setattr__ on a frozen one
        raise TypeError("a VerifiedVoucher comes from check_voucher only")
    return verified.voucher


def forget_void(conn: Connection, void: Iterable[tuple[int | str, int]]) -> None:
    """In the caller's transaction (the indexer's, as it indexes a range): forgets the kept
    voucher of each (certificate, epoch) that is of that epoch or an older one (settled or
    closed: void); a newer epoch's voucher stays."""
    rows = [{"cert": str(int(cert)), "epoch": int(epoch)} for cert, epoch in void]
    if rows:
        t = vouchers_table
        conn.execute(delete(t).where(and_(t.c.certificate == bindparam("cert"),
                                          t.c.epoch <= bindparam("epoch"))), rows)


def _row(row: Any) -> StoredVoucher:
    voucher = SignedVoucher(int(row.certificate), int(row.epoch), int(row.cumulative),
                            bytes.fromhex(str(row.signature).removeprefix("0x")))
    return StoredVoucher(voucher, int(row.merchant), float(row.updated_at))


class VoucherStore:
    """The latest voucher per tab, shared by every process using the database."""

    def __init__(self, database: str | Engine, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.engine = open_engine(database) if isinstance(database, str) else database
        self.clock = clock

    def keep(self, verified: VerifiedVoucher | VoucherCheck) -> bool:
        """Stores the voucher `check_voucher` verified unless the stored one of its tab is as
        new (the same epoch and a running total at least as high, or a newer epoch): True when
        it was kept. One statement, safe under concurrent writers. A refused check raises its
        refusal; anything but check_voucher's result is a TypeError."""
        voucher = verified_voucher(verified)
        t = vouchers_table
        values = {"certificate": str(voucher.certificate), "merchant": voucher.merchant,
                  "epoch": voucher.epoch, "cumulative": str(voucher.cumulative),
                  "signature": "0x" + voucher.signature.hex(), "updated_at": self.clock()}
        dialect = self.engine.dialect.name
        insert: Any
        if dialect == "postgresql":
            insert = postgresql.insert(t)
        elif dialect == "sqlite":
            insert = sqlite.insert(t)
        else:  # pragma: no cover - the project runs on these two
            raise NotImplementedError(f"the voucher store needs SQLite or PostgreSQL, not "
                                      f"{dialect}")
        stmt = insert.values(**values)
        new = stmt.excluded
        newer = or_(new.epoch > t.c.epoch,
                    and_(new.epoch == t.c.epoch, _greater(new.cumulative, t.c.cumulative)))
        stmt = stmt.on_conflict_do_update(
            index_elements=[t.c.certificate],
            set_={k: getattr(new, k) for k in ("merchant", "epoch", "cumulative", "signature",
                                                "updated_at")},
            where=newer).returning(t.c.certificate)  # a row only when inserted or updated
        with self.engine.begin() as conn:
            return conn.execute(stmt).first() is not None

    def latest(self, certificate: int) -> SignedVoucher | None:
        """The kept voucher of a tab (None: none kept)."""
        t = vouchers_table
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.certificate == str(int(certificate)))).first()
        return _row(row).voucher if row is not None else None

    def remove(self, voucher: SignedVoucher) -> bool:
        """Forgets the kept voucher of this tab if it is of `voucher`'s epoch or an older one
        (settled or void); a newer epoch's voucher kept meanwhile stays. True if one went."""
        return self.forget(voucher.certificate, voucher.epoch)

    def forget(self, certificate: int, epoch: int) -> bool:
        """Forgets the kept voucher of `certificate`'s tab if it is of `epoch` or an older one
        (e.g. the epoch a settle collected: its vouchers are void); True if one went."""
        t = vouchers_table
        with self.engine.begin() as conn:
            result = conn.execute(delete(t).where(and_(
                t.c.certificate == str(int(certificate)), t.c.epoch <= int(epoch))))
        return bool(result.rowcount)

    def open_tabs(self, merchant: int) -> list[StoredVoucher]:
        """The merchant's kept vouchers (one per tab, each its tab's unsettled total), the
        most recently kept first."""
        t = vouchers_table
        query = select(t).where(t.c.merchant == int(merchant)).order_by(
            t.c.updated_at.desc(), t.c.certificate)
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(query)]

    def unsettled_totals(self, merchant: int) -> dict[int, int]:
        """Smallest units served and not collected, per currency id, over the merchant's
        kept vouchers."""
        out: dict[int, int] = {}
        for stored in self.open_tabs(merchant):
            out[stored.currency_id] = out.get(stored.currency_id, 0) + stored.unsettled
        return out
