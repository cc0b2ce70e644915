"""The sandbox conversion provider: deterministic, for test-mode keys (see docs/sandbox.md).

The ship-to zip picks the outcome:
- 00000: the label is rejected (label_rejected; the poller does not try again);
- 00001: the provider is unavailable on the order's first mint, then mints;
- 00002: the provider is always unavailable (provider_unavailable);
- 00003: the mint takes ORDERATLAS_SANDBOX_CONVERSION_SLOW_S seconds, then succeeds;
- anything else mints at once.
A label number is AQUAA + 10 digits + YQ, the digits a hash of the order id and the attempt, so the
same order and attempt always get the same number. The label's status follows the order's status.
"""

import asyncio
import hashlib

from orderatlas.conversion.base import (
    CANCELLED,
    DELIVERED,
    IN_TRANSIT,
    LABEL_REJECTED,
    OUT_FOR_DELIVERY,
    PRE_TRANSIT,
    PROVIDER_UNAVAILABLE,
    ConversionProvider,
    Label,
    LabelFailure,
    LabelRequest,
    MintResult,
    Parcel,
    StatusResult,
)

REJECTED_ZIP, UNAVAILABLE_ONCE_ZIP, UNAVAILABLE_ZIP, SLOW_ZIP = "00000", "00001", "00002", "00003"
SANDBOX_CARRIER = "Aquiline"
_LABEL_STATUS = {
    "shipped": IN_TRANSIT,
    "out_for_delivery": OUT_FOR_DELIVERY,
    "delivered": DELIVERED,
    "cancelled": CANCELLED,
    "lost": CANCELLED,
    "refunded": CANCELLED,
}


def label_number(order_reference: str, attempt: int) -> str:
    digest = hashlib.sha256(f"{order_reference}:{attempt}".encode()).digest()
    return f"AQUAA{int.from_bytes(digest[:8], 'big') % 10**10:010d}YQ"


class SandboxConversion(ConversionProvider):
    name = "sandbox"

    def __init__(self, slow_s: float = 2.0) -> None:
        self._slow_s = slow_s

    async def mint(self, request: LabelRequest) -> MintResult:
        zip_code = str(request.ship_to.get("zip", "")).strip()
        if zip_code == REJECTED_ZIP:
            return MintResult(
                failure=LabelFailure(LABEL_REJECTED, "sandbox: ship-to zip 00000 is not routable", False)
            )
        if zip_code == UNAVAILABLE_ZIP or (zip_code == UNAVAILABLE_ONCE_ZIP and request.attempt == 1):
            message = "sandbox: the conversion service is unavailable, try again later"
            return MintResult(failure=LabelFailure(PROVIDER_UNAVAILABLE, message, True))
        if zip_code == SLOW_ZIP:
            await asyncio.sleep(self._slow_s)
        return MintResult(
            label=Label(label_number(request.order_reference, request.attempt), SANDBOX_CARRIER)
        )

    async def status(self, parcel: Parcel) -> StatusResult:
        return StatusResult(status=_LABEL_STATUS.get(parcel.order_status, PRE_TRANSIT))

    async def release(self, number: str) -> None:
        return None  # the sandbox keeps nothing of a label
