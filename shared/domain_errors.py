"""Domain errors: what a service raises when a rule says no, with no HTTP in it.

Each error has a stable machine `code` and a sentence (`detail`); keyword arguments become extra
fields of the problem document. A service's `api/errors.py` maps error classes to HTTP statuses
with `shared.errors.install_domain_errors`.
"""


class DomainError(Exception):
    code = "domain_error"

    def __init__(self, detail: str, **extra):
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class CodedError(DomainError):
    """A kind of error whose code is chosen where it is raised: `NotFound("order_not_found", …)`."""

    def __init__(self, code: str, detail: str, **extra):
        super().__init__(detail, **extra)
        self.code = code


class NotFound(CodedError):
    pass


class Conflict(CodedError):
    pass
