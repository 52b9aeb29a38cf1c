"""Log-in and registration limits (the contract's 429 `too_many_requests` with Retry-After).

- per client address: registrations and log-ins together, `client_limit` a minute;
- per account: `failure_limit` failed log-ins a minute; past it every log-in of that account,
  the right password included, is refused until the minute is over (a guesser learns nothing).
  Every attempt is counted before the password is checked, and taken back when it succeeds, so
  a burst of concurrent guesses cannot all slip past the count before the first one fails.

Counted in Redis, so every replica counts together (in process for `memory://`). The account is
its username lowercased: usernames are unique regardless of case. `0` turns a limit off.
"""

from shared.ratelimit import RateCounter, too_many_requests

WINDOW_SECONDS = 60


class LoginThrottle:
    def __init__(self, counter: RateCounter, failure_limit: int, client_limit: int):
        self.counter = counter
        self.failure_limit = failure_limit
        self.client_limit = client_limit

    async def client_attempt(self, client: str) -> None:
        """One registration or log-in from `client`; 429 past the client's limit."""
        if not self.client_limit:
            return
        count = await self.counter.hit(f"client:{client}", WINDOW_SECONDS)
        if count.events > self.client_limit:
            raise too_many_requests(
                count, "Too many log-ins or registrations from this address; try again later."
            )

    async def account_attempt(self, username: str) -> None:
        """Counts a log-in of the account as failed until `succeeded`; 429 past the limit."""
        if not self.failure_limit:
            return
        count = await self.counter.hit(_account(username), WINDOW_SECONDS)
        if count.events > self.failure_limit:
            raise too_many_requests(
                count, "Too many failed log-ins for this account; try again later."
            )

    async def succeeded(self, username: str) -> None:
        if self.failure_limit:
            await self.counter.take_back(_account(username))


def _account(username: str) -> str:
    return f"login-failures:{username.lower()}"
