"""The database-touching tests run on SQLite and on PostgreSQL: the `backend` fixture is
parametrised over both (test ids `[sqlite]`, `[postgresql]`).

Use it from any test folder by importing it into the test module (tests/ is on sys.path):

    from db.backends import backend  # noqa: F401  (a fixture)

    def test_x(backend):
        url = backend.url()          # a fresh database migrated to head
        other = backend.url("other") # a second one (same backend); same name -> same URL
        empty = backend.url("e", migrated=False)

SQLite: files in the test's tmp_path. PostgreSQL: a fresh schema per URL in this process's
server (db.postgres.server(): GIFTCERT_TEST_POSTGRES_URL, else a throwaway cluster), dropped
afterwards. `GIFTCERT_TEST_BACKENDS=sqlite` (or `postgresql`) runs one of them only.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from db.postgres import drop_schema, fresh_schema_url, server

from giftcert.database import open_engine, upgrade

BACKENDS = [b for b in ("sqlite", "postgresql")
            if b in (os.environ.get("GIFTCERT_TEST_BACKENDS") or "sqlite,postgresql")]


@dataclass
class Backend:
    name: str
    directory: Path
    _urls: dict[str, str] = field(default_factory=dict)
    _schemas: list[str] = field(default_factory=list)

    @property
    def is_postgres(self) -> bool:
        return self.name == "postgresql"

    def url(self, name: str = "index", *, migrated: bool = True) -> str:
        """A database of its own for `name` (the same URL when asked again)."""
        if name not in self._urls:
            if self.is_postgres:
                url, schema = fresh_schema_url()
                self._schemas.append(schema)
            else:
                url = f"sqlite:///{self.directory / (name + '.db')}"
            if migrated:
                engine = open_engine(url)
                try:
                    upgrade(engine)
                finally:
                    engine.dispose()
            self._urls[name] = url
        return self._urls[name]

    def cleanup(self) -> None:
        for schema in self._schemas:
            drop_schema(schema)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "postgresql":
        server()  # start it (or fail with the apt-get line) before the test
    chosen = Backend(request.param, tmp_path)
    yield chosen
    chosen.cleanup()
