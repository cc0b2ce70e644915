"""The conversion provider interface: the second seam to the outside world, beside retailers/base.py.

A provider mints a carrier-neutral tracking label for an order (from its ship-from to its ship-to),
says what its parcel is doing, and releases a label that will not be used. Outcomes are data (a
LabelFailure with a code and whether trying again later can help), not exceptions: an exception
or a timeout from a provider is treated as PROVIDER_UNAVAILABLE, and nothing is charged for it.
"""

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

# Failure codes a provider answers with (a provider may add its own; retryable says what to do).
PROVIDER_UNAVAILABLE = "provider_unavailable"  # down, slow or answering garbage: try later
LABEL_REJECTED = "label_rejected"  # the provider will not route this parcel: trying again won't help

# What a label's parcel can be doing, as status() reports it.
PRE_TRANSIT, IN_TRANSIT, OUT_FOR_DELIVERY, DELIVERED, CANCELLED = (
    "pre_transit",
    "in_transit",
    "out_for_delivery",
    "delivered",
    "cancelled",
)
FINAL_LABEL_STATUSES = frozenset({DELIVERED, CANCELLED})


@dataclass(frozen=True)
class LabelFailure:
    code: str
    message: str
    retryable: bool


@dataclass(frozen=True)
class LabelRequest:
    order_reference: str  # our order id; a provider keeps it with the label
    platform: str
    ship_from: Mapping[str, str]
    ship_to: Mapping[str, str]
    retailer_tracking: str  # the retailer's tracking number ("" until it has one)
    retailer_carrier: str
    attempt: int  # 1-based: how many mints this order has asked for, this one included


@dataclass(frozen=True)
class Label:
    number: str  # AQUAA...YQ for the reference's provider
    carrier: str


@dataclass(frozen=True)
class MintResult:
    label: Label | None = None
    failure: LabelFailure | None = None


@dataclass(frozen=True)
class Parcel:
    """What we know of the parcel behind a label: the provider follows it with this."""

    number: str
    order_reference: str
    order_status: str
    retailer_tracking: str
    retailer_carrier: str


@dataclass(frozen=True)
class StatusResult:
    status: str | None = None  # one of the label statuses above
    failure: LabelFailure | None = None


class ConversionProvider(ABC):
    name: ClassVar[str]

    @abstractmethod
    async def mint(self, request: LabelRequest) -> MintResult:
        """Mint one label. A provider must not bill or keep anything for a failed mint."""

    @abstractmethod
    async def status(self, parcel: Parcel) -> StatusResult:
        """Pass on what the retailer says of the parcel and read back the label's status. Called
        until the label is delivered or cancelled, also after it was dropped from its order."""

    @abstractmethod
    async def release(self, number: str) -> None:
        """Give back a label that was minted but will not be used (the charge for it failed)."""
