"""Alembic migrations of the index and the sign-in sessions (run by `giftcert db upgrade`;
`giftcert.database.upgrade` does the same from Python). Revisions live in versions/."""
