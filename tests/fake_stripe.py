"""A tiny fake of Stripe's API on 127.0.0.1, for tests and for trying top-ups by hand.

It answers the one call OrderAtlas makes (POST /v1/checkout/sessions, form-encoded like the SDK
sends it) and plays the buyer and Stripe's webhook sender: a GET of a session's checkout URL pays
it and POSTs a signed checkout.session.completed to the configured webhook URL;
GET /refund/<session id>?amount=<cents> sends charge.refunded the same way.

Idempotency-Key is honoured as Stripe does (docs.stripe.com/idempotency): the same key with the
same parameters replays the first answer (with Idempotent-Replayed: true), the same key with other
parameters is 400 idempotency_error. Keys are scoped by mode (sk_live_ / sk_test_), like Stripe's.

    python -m tests.fake_stripe --port 12111 --webhook-url http://127.0.0.1:8000/v1/billing/stripe/webhook \\
        --webhook-secret whsec_test_local
    ORDERATLAS_STRIPE_API_BASE=http://127.0.0.1:12111 ORDERATLAS_STRIPE_TEST_SECRET_KEY=sk_test_fake ...

Events are signed with the stripe SDK's own scheme (t=<unix time>,v1=<HMAC-SHA256>).
"""

import argparse
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import stripe


def nested(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding back into objects: line_items[0][price_data][currency]=usd."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return root


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    """The Stripe-Signature header for a body, as Stripe computes it."""
    return stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp)


def event(
    type_: str, obj: dict[str, Any], *, event_id: str | None = None, livemode: bool | None = None
) -> dict[str, Any]:
    """An event about `obj`; like Stripe's, it is live when its object is (unless told otherwise)."""
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "api_version": "2025-01-01",
        "created": int(time.time()),
        "livemode": bool(obj.get("livemode", False)) if livemode is None else livemode,
        "type": type_,
        "data": {"object": obj},
    }


def signed_post(url: str, body: dict[str, Any], secret: str) -> httpx.Response:
    payload = json.dumps(body)
    headers = {"Stripe-Signature": sign(payload, secret), "Content-Type": "application/json"}
    return httpx.post(url, content=payload, headers=headers, timeout=30)


IDEMPOTENCY_MISMATCH = (
    "Keys for idempotent requests can only be used with the same parameters they were first used with. "
    "Try using a key other than '{key}' if you meant to execute a different request."
)


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def is_live_key(authorization: str) -> bool:
    return authorization.removeprefix("Bearer ").startswith(("sk_live_", "rk_live_"))


class FakeStripe:
    """The fake's state: sessions by id, first answers by idempotency key, every request it saw."""

    def __init__(self, webhook_url: str | None = None, webhook_secret: str | None = None) -> None:
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.sessions: dict[str, dict[str, Any]] = {}
        self.by_idempotency_key: dict[tuple[bool, str], tuple[dict[str, Any], Answer]] = {}
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.base_url = "https://checkout.stripe.com"  # the server sets its own

    def create_session(
        self, params: dict[str, Any], idempotency_key: str | None, *, live: bool = False
    ) -> Answer:
        """POST /v1/checkout/sessions, with Stripe's idempotency rules."""
        with self.lock:
            if idempotency_key:
                seen = self.by_idempotency_key.get((live, idempotency_key))
                if seen is not None:
                    first_params, answer = seen
                    if first_params != params:
                        message = IDEMPOTENCY_MISMATCH.format(key=idempotency_key)
                        return Answer(400, {"error": {"type": "idempotency_error", "message": message}})
                    return Answer(answer.status, answer.body, {"Idempotent-Replayed": "true"})
            answer = Answer(200, self._new_session(params, live))
            if idempotency_key:
                self.by_idempotency_key[(live, idempotency_key)] = (params, answer)
            return answer

    def _new_session(self, params: dict[str, Any], live: bool) -> dict[str, Any]:
        line = params["line_items"]["0"]
        session_id = f"cs_{'live' if live else 'test'}_{uuid.uuid4().hex}"
        session = {
            "id": session_id,
            "object": "checkout.session",
            "livemode": live,
            "mode": params.get("mode"),
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": int(line["quantity"]) * int(line["price_data"]["unit_amount"]),
            "currency": line["price_data"]["currency"],
            "client_reference_id": params.get("client_reference_id"),
            "metadata": params.get("metadata", {}),
            "payment_intent": None,
            "success_url": params.get("success_url"),
            "url": f"{self.base_url}/pay/{session_id}",
        }
        self.sessions[session_id] = session
        return dict(session)

    def respond(self, request: httpx.Request) -> httpx.Response:
        """The same answers as an httpx response: a respx side effect at Stripe's real address."""
        params = nested(parse_qsl(request.content.decode(), keep_blank_values=True))
        live = is_live_key(request.headers.get("Authorization", ""))
        answer = self.create_session(params, request.headers.get("Idempotency-Key"), live=live)
        return httpx.Response(answer.status, json=answer.body, headers=answer.headers)

    def pay(self, session_id: str) -> dict[str, Any]:
        with self.lock:
            session = self.sessions[session_id]
            session.update(
                status="complete", payment_status="paid", payment_intent=f"pi_{uuid.uuid4().hex[:24]}"
            )
            return dict(session)

    def charge_refunded(self, session_id: str, amount_refunded: int) -> dict[str, Any]:
        session = self.sessions[session_id]
        return {
            "id": f"ch_{session_id[-24:]}",
            "object": "charge",
            "livemode": session["livemode"],
            "amount": session["amount_total"],
            "amount_refunded": amount_refunded,
            "refunded": amount_refunded >= session["amount_total"],
            "currency": session["currency"],
            "payment_intent": session["payment_intent"],
        }


def _handler(fake: FakeStripe) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # noqa: N802
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            params = nested(parse_qsl(raw, keep_blank_values=True))
            fake.requests.append({"path": self.path, "headers": dict(self.headers), "params": params})
            authorization = self.headers.get("Authorization", "")
            if not authorization.startswith(("Bearer sk_", "Bearer rk_")):
                self._answer(401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key"}})
            elif self.path == "/v1/checkout/sessions":
                key = self.headers.get("Idempotency-Key")
                answer = fake.create_session(params, key, live=is_live_key(authorization))
                self._answer(answer.status, answer.body, answer.headers)
            else:
                self._answer(404, {"error": {"type": "invalid_request_error", "message": "Unrecognized URL"}})

        def do_GET(self) -> None:  # noqa: N802
            parts = urlsplit(self.path)
            kind, _, session_id = parts.path.strip("/").partition("/")
            if session_id not in fake.sessions or kind not in ("pay", "refund"):
                self._answer(404, {"error": {"message": "no such session"}})
                return
            if kind == "pay":
                sent = event("checkout.session.completed", fake.pay(session_id))
            else:
                amount = int(
                    dict(parse_qsl(parts.query)).get("amount", fake.sessions[session_id]["amount_total"])
                )
                sent = event("charge.refunded", fake.charge_refunded(session_id, amount))
            if not (fake.webhook_url and fake.webhook_secret):
                self._answer(200, {"event": sent, "delivered": None})
                return
            answer = signed_post(fake.webhook_url, sent, fake.webhook_secret)
            delivered = {"event": sent["id"], "type": sent["type"], "webhook_status": answer.status_code}
            self._answer(200, {**delivered, "webhook_answer": answer.json()})

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    return Handler


class FakeStripeServer:
    """The fake on a thread of this process, on a free 127.0.0.1 port."""

    def __init__(self, fake: FakeStripe | None = None, port: int = 0) -> None:
        self.fake = fake or FakeStripe()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self.fake))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.fake.base_url = self.url
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeStripeServer":
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--webhook-url")
    parser.add_argument("--webhook-secret")
    args = parser.parse_args()
    with FakeStripeServer(FakeStripe(args.webhook_url, args.webhook_secret), args.port) as running:
        print(f"fake Stripe on {running.url}", flush=True)
        try:
            running.thread.join()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
