"""Typed errors of the tax adapter. Retry policy: only TaxServiceUnavailable is transient."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from adapters.tax.models import SubmissionResult


@dataclass(frozen=True)
class FieldError:
    path: str
    message: str
    line: int | None = None


class TaxServiceError(Exception):
    """Base of every tax adapter error."""


class TaxServiceUnavailable(TaxServiceError):
    """Transport error, timeout, HTTP 5xx or SOAP Server fault persisted through every retry."""

    def __init__(self, operation: str, attempts: int, last_error: BaseException | str) -> None:
        super().__init__(f"{operation}: tax service unavailable after {attempts} attempt(s): {last_error}")
        self.operation = operation
        self.attempts = attempts
        self.last_error = last_error


class TaxRequestInvalid(TaxServiceError):
    """The service (SOAP Client fault) or the local WSDL check refused the request: do not retry."""

    def __init__(self, code: str, message: str, errors: tuple[FieldError, ...] = ()) -> None:
        listing = "; ".join(f"{e.path}: {e.message}" for e in errors)
        super().__init__(f"{code}: {message}" + (f" [{listing}]" if listing else ""))
        self.code = code
        self.errors = errors


class TaxApplicationConflict(TaxRequestInvalid):
    """The application_no was already filed with different content and is not open for correction."""


class TaxCaseNotFound(TaxRequestInvalid):
    """No case for the given application_no / tax_case_no."""


class TaxProtocolError(TaxServiceError):
    """The service answered something the adapter cannot interpret (not retried)."""


class TaxRejected(TaxServiceError):
    """不予退税: raised by SubmissionResult.raise_for_outcome()."""

    def __init__(self, result: SubmissionResult) -> None:
        super().__init__(
            f"{result.application_no} rejected (case {result.tax_case_no}): "
            + "; ".join(f"{r.code} {r.message}" for r in result.reasons)
        )
        self.result = result


class TaxReturnedForCorrection(TaxServiceError):
    """退回补正: raised by SubmissionResult.raise_for_outcome(); correct and resubmit."""

    def __init__(self, result: SubmissionResult) -> None:
        super().__init__(
            f"{result.application_no} returned for correction (case {result.tax_case_no}): "
            + "; ".join(f"{r.code} {r.message}" for r in result.reasons)
        )
        self.result = result
