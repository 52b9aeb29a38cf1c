"""The payment service's NonceStore (`shared.nonces`): the table `service_nonces`, shared by every
process and replica of the service, which has no Redis.

`first_use` is one `INSERT … ON CONFLICT DO NOTHING RETURNING` in autocommit: no BEGIN and no
COMMIT round trip on the signed calls' path (POST /internal/payments is benchmarked), and the
primary key makes it atomic across processes. A row past `expires_at` that is not deleted yet
still refuses its nonce: harmless, since by then any request signed with it is stale, and a
sender draws a new random nonce for every request.

Expired rows are deleted by `purge`, a periodic task of the service (every MAX_SKEW_SECONDS,
each process), rather than every N inserts: the signed calls' path keeps its one statement and
no call pays for the deletion; between two purges at most a few windows of rows lie expired.
"""

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker

from payment_service.storage.tables import service_nonces
from shared.db import autocommit_session, insert_with_on_conflict
from shared.nonces import NONCE_SECONDS
from shared.results import updated_rows
from shared.time import now_utc


class DatabaseNonceStore:
    def __init__(self, sessions: async_sessionmaker):
        self.sessions = sessions

    async def first_use(self, nonce: str) -> bool:
        async with autocommit_session(self.sessions) as session:
            inserted = await session.execute(
                insert_with_on_conflict(session, service_nonces)
                .values(nonce=nonce, expires_at=now_utc() + timedelta(seconds=NONCE_SECONDS))
                .on_conflict_do_nothing()
                .returning(service_nonces.c.nonce)
            )
            return inserted.first() is not None

    async def purge(self) -> int:
        """Delete the expired rows; how many."""
        async with autocommit_session(self.sessions) as session:
            deleted = await session.execute(
                sa.delete(service_nonces).where(service_nonces.c.expires_at <= now_utc())
            )
            return updated_rows(deleted)
