// Webhook deliveries as a table with each attempt and a Redeliver button (Webhooks and Order pages).

import { post } from "../api.js";
import { h, message, orderLink, table, when } from "../ui.js";

function attempts(delivery) {
  if (!delivery.attempts.length) return h("span", { class: "muted" }, "none yet");
  return h(
    "details",
    {},
    h("summary", {}, `${delivery.attempts.length} attempt(s)`),
    delivery.attempts.map((a) =>
      h(
        "div",
        { "data-testid": "attempt" },
        h("div", {}, `#${a.number} · ${when(a.attempted_at)} · ${a.response_status || "no response"} · ${a.duration_ms} ms`),
        a.error ? h("div", { class: "muted" }, a.error) : null,
        a.response_body ? h("pre", {}, a.response_body) : null,
      ),
    ),
  );
}

/** `after` runs once a redelivery was accepted (the caller re-reads the list to show it). */
export function deliveriesTable(deliveries, status, after) {
  const redeliver = async (delivery, button) => {
    button.disabled = true;
    try {
      await post(`/v1/webhooks/deliveries/${delivery.id}/redeliver`);
      status.replaceChildren(message(`Delivery ${delivery.id} queued again.`));
      await after();
    } catch (error) {
      status.replaceChildren(message(error.message, "error"));
      button.disabled = false;
    }
  };
  return table("Webhook deliveries", [
    ["Event", (d) => d.event],
    ["Order", (d) => orderLink(d.order_id, d.order_id.slice(0, 8))],
    ["Target", (d) => h("span", { title: d.url }, d.target)],
    ["Outcome", (d) => h("span", { "data-testid": "delivery-outcome" }, d.outcome)],
    ["Attempts", (d) => h("span", { "data-testid": "attempt-count" }, d.attempt_count)],
    ["Responses", attempts],
    ["Created", (d) => when(d.created_at)],
    [
      "",
      (d) => {
        const button = h("button", { type: "button", class: "quiet", "aria-label": `Redeliver ${d.event} ${d.id}` }, "Redeliver");
        button.addEventListener("click", () => redeliver(d, button));
        return button;
      },
    ],
  ], deliveries);
}
