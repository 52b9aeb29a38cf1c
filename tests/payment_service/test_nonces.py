"""The payment service's nonce store on SQLite (the quick start): the same one statement as on
PostgreSQL (which the two-worker replay test exercises), a nonce accepted once, expired rows
purged."""

from datetime import timedelta

import sqlalchemy as sa

from payment_service.storage.nonces import DatabaseNonceStore
from payment_service.storage.tables import service_nonces
from shared.db import create_engine, session_factory
from shared.time import now_utc
from tests.payment_service.conftest import migrate


async def test_a_nonce_is_accepted_once_and_purged_once_expired_on_sqlite(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'payment.db'}"
    migrate(url)
    engine = create_engine(url)
    try:
        store = DatabaseNonceStore(session_factory(engine))
        assert await store.first_use("n1")
        assert not await store.first_use("n1")
        assert await store.first_use("n2")
        assert await store.purge() == 0  # nothing expired yet
        async with engine.begin() as conn:
            await conn.execute(
                sa.update(service_nonces)
                .where(service_nonces.c.nonce == "n1")
                .values(expires_at=now_utc() - timedelta(seconds=1))
            )
        assert await store.purge() == 1
        async with engine.connect() as conn:
            left = (await conn.execute(sa.select(service_nonces.c.nonce))).scalars().all()
        assert left == ["n2"]
    finally:
        await engine.dispose()
