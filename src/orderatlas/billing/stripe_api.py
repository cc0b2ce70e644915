"""The Stripe seam: Checkout Sessions through the stripe SDK, and webhook events it verifies.

Live keys use ORDERATLAS_STRIPE_SECRET_KEY and its endpoint secret, test keys the _TEST_ pair, so
a test-mode payment (card 4242) can never reach a live balance. ORDERATLAS_STRIPE_API_BASE points
the SDK at another Stripe API (stripe-mock, a local fake).
"""

import logging
from dataclasses import dataclass
from typing import Any

import stripe

from orderatlas.config import Settings
from orderatlas.errors import BadRequest, Conflict, OrderAtlasError, ServiceUnavailable
from orderatlas.idempotency.service import KeyReused
from orderatlas.models.account import mode_name

log = logging.getLogger(__name__)

SIGNATURE_TOLERANCE_S = 300  # Stripe's own default: older signed bodies are replays
# The SDK retries once, with the same idempotency key (so a retry never opens a second session).
# A top-up then waits at most 2 x ORDERATLAS_STRIPE_TIMEOUT_S plus the SDK's backoff (under 1 s).
NETWORK_RETRIES = 1


class BillingNotConfigured(ServiceUnavailable):
    code = "billing_not_configured"


class StripeFailed(OrderAtlasError):
    status_code = 502
    code = "stripe_error"


class InvalidSignature(BadRequest):
    code = "invalid_signature"


class InvalidPayload(BadRequest):
    code = "invalid_payload"


class LivemodeMismatch(BadRequest):
    code = "livemode_mismatch"


# Stripe's key prefixes per mode (sk_ secret keys, rk_ restricted keys).
KEY_PREFIXES = {False: ("sk_live_", "rk_live_"), True: ("sk_test_", "rk_test_")}
KEY_VARIABLES = {False: "ORDERATLAS_STRIPE_SECRET_KEY", True: "ORDERATLAS_STRIPE_TEST_SECRET_KEY"}
WEBHOOK_SECRET_VARIABLES = {
    False: "ORDERATLAS_STRIPE_WEBHOOK_SECRET",
    True: "ORDERATLAS_STRIPE_TEST_WEBHOOK_SECRET",
}


def key_problems(settings: Settings) -> list[tuple[bool, str]]:
    """(refused?, why) for each configured Stripe key that does not look like its mode's. A key of
    the other mode is refused: a test key in the live variable would sell live credits for card
    4242. Other shapes (a local fake's key) are only warned about."""
    problems = []
    for test_mode, key in ((False, settings.stripe_secret_key), (True, settings.stripe_test_secret_key)):
        if not key or key.startswith(KEY_PREFIXES[test_mode]):
            continue
        variable, other = KEY_VARIABLES[test_mode], mode_name(not test_mode)
        if key.startswith(KEY_PREFIXES[not test_mode]):
            problems.append((True, f"{variable} holds a {other}-mode Stripe key"))
        else:
            expected = " or ".join(KEY_PREFIXES[test_mode])
            problems.append((False, f"{variable} does not start with {expected}"))
    return problems


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str


@dataclass(frozen=True)
class VerifiedEvent:
    event: dict[str, Any]
    test_mode: bool  # which endpoint secret signed it


class StripeGateway:
    """One SDK client per mode, made when first needed (keys are read at call time) and on httpx,
    the SDK's async HTTP client."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        for refused, problem in key_problems(settings):
            if refused:
                log.error("%s: its mode's top-ups answer 503 until it is fixed", problem)
            else:
                log.warning("%s: is it a Stripe key of the right mode?", problem)
        self._clients: dict[
            tuple[str, str | None, float], tuple[stripe.StripeClient, stripe.HTTPXClient]
        ] = {}

    def _client(self, test_mode: bool) -> stripe.StripeClient:
        settings = self._settings
        key = settings.stripe_test_secret_key if test_mode else settings.stripe_secret_key
        mode, variable = mode_name(test_mode), KEY_VARIABLES[test_mode]
        if not key:
            raise BillingNotConfigured(f"{mode}-mode top-ups are not configured ({variable})")
        if key.startswith(KEY_PREFIXES[not test_mode]):  # read at call time: settings can change
            raise BillingNotConfigured(
                f"{mode}-mode top-ups are refused: {variable} holds a {mode_name(not test_mode)}-mode key"
            )
        cache_key = (key, settings.stripe_api_base, settings.stripe_timeout_s)
        if cache_key not in self._clients:
            http = stripe.HTTPXClient(timeout=settings.stripe_timeout_s)
            client = stripe.StripeClient(
                key,
                http_client=http,
                base_addresses={"api": settings.stripe_api_base} if settings.stripe_api_base else None,
                max_network_retries=NETWORK_RETRIES,
            )
            self._clients[cache_key] = (client, http)
        return self._clients[cache_key][0]

    async def create_checkout_session(
        self, *, test_mode: bool, params: dict[str, Any], idempotency_key: str
    ) -> CheckoutSession:
        client = self._client(test_mode)
        try:
            session = await client.v1.checkout.sessions.create_async(
                params,  # type: ignore[arg-type]
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            # Stripe's message stays in the log: it may name the account or the (masked) key.
            log.warning("Stripe refused a checkout session (%s): %r", mode_name(test_mode), exc)
            raise _client_error(exc) from None
        found = session.to_dict()
        if not isinstance(found.get("id"), str) or not isinstance(found.get("url"), str):
            raise StripeFailed("Stripe answered without a checkout session URL; try again")
        return CheckoutSession(id=found["id"], url=found["url"])

    async def aclose(self) -> None:
        for _, http in self._clients.values():
            await http.close_async()
        self._clients.clear()


def _client_error(exc: stripe.StripeError) -> OrderAtlasError:
    """What the client is told. Stripe's idempotency refusals are the client's to act on: the same
    Idempotency-Key was sent with another body (422), or while its first request still runs (409)."""
    if exc.http_status == 409:
        return Conflict(
            "a top-up with this Idempotency-Key is in progress; retry", code="idempotency_conflict"
        )
    if isinstance(exc, stripe.IdempotencyError):
        return KeyReused("this Idempotency-Key was already used for a top-up with a different request body")
    message = f"Stripe could not open a checkout session ({exc.code or type(exc).__name__}); try again"
    replayed = (exc.headers or {}).get("idempotent-replayed") == "true"
    if exc.http_status and exc.http_status >= 500 and replayed:
        # Stripe keeps the first answer to a key, its failures included, for at least 24 hours.
        message += " with a new Idempotency-Key: Stripe repeats this failure for the one sent"
    return StripeFailed(message)


def verify_event(payload: bytes, signature: str | None, settings: Settings) -> VerifiedEvent:
    """stripe.Webhook.construct_event with each configured endpoint secret: 400 unless one signed it."""
    secrets = [
        (test_mode, secret)
        for test_mode, secret in (
            (False, settings.stripe_webhook_secret),
            (True, settings.stripe_test_webhook_secret),
        )
        if secret
    ]
    if not secrets:
        raise BillingNotConfigured(
            "Stripe webhooks are not configured "
            "(ORDERATLAS_STRIPE_WEBHOOK_SECRET / ORDERATLAS_STRIPE_TEST_WEBHOOK_SECRET)"
        )
    if signature is not None and not signature.isascii():  # the SDK's constant-time compare refuses it
        raise InvalidSignature("the Stripe-Signature header is missing, stale or does not match")
    signed_by: list[bool] = []
    event: Any = None
    for test_mode, secret in secrets:
        try:
            event = stripe.Webhook.construct_event(payload, signature, secret, SIGNATURE_TOLERANCE_S)
        except stripe.SignatureVerificationError:
            continue
        except (ValueError, AttributeError, TypeError):  # not UTF-8, not JSON, not an object
            raise InvalidPayload("the body is not a Stripe event") from None
        signed_by.append(test_mode)
    if not signed_by:
        raise InvalidSignature("the Stripe-Signature header is missing, stale or does not match")
    body = event.to_dict()
    if not isinstance(body.get("id"), str) or not isinstance(body.get("type"), str):
        raise InvalidPayload("the body is not a Stripe event (no id or type)")
    # One secret for both endpoints is a misconfiguration; Stripe's own flag then decides.
    test_mode = signed_by[0] if len(signed_by) == 1 else not body.get("livemode", False)
    if body.get("livemode") is not (not test_mode):
        raise _livemode_mismatch(body, test_mode)
    return VerifiedEvent(body, test_mode)


def _livemode_mismatch(body: dict[str, Any], test_mode: bool) -> LivemodeMismatch:
    """The secret that verified the event belongs to the other mode's endpoint: a configuration
    mistake. Nothing is stored, so Stripe's retries are handled once the variables are fixed."""
    variable = WEBHOOK_SECRET_VARIABLES[test_mode]
    event_mode = "live" if body.get("livemode") else "test"
    log.error(
        "Stripe event %s is %s-mode but %s verified it; refused (not stored) until the secrets are fixed",
        body.get("id"),
        event_mode,
        variable,
    )
    return LivemodeMismatch(
        f"a {event_mode}-mode event verified with {variable}, which must hold the signing secret of "
        f"the {mode_name(test_mode)}-mode endpoint; nothing was stored, so Stripe's retry is handled "
        "once that is fixed"
    )
