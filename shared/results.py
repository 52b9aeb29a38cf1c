"""What a statement's result says, typed.

`AsyncSession.execute` is typed as returning a plain `Result`, but the result of an INSERT,
UPDATE or DELETE is a `CursorResult`, which alone has `rowcount`: the guarded transitions of
both services (`UPDATE … WHERE status = :from`) read it to learn whether they applied.
"""

from typing import Any, cast

from sqlalchemy.engine import CursorResult, Result


def updated_rows(result: Result[Any]) -> int:
    """The number of rows an INSERT, UPDATE or DELETE matched."""
    return cast(CursorResult[Any], result).rowcount
