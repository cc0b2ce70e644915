// Webhooks: the delivery log with filters (event, outcome, order), each attempt, and Redeliver.

import { get } from "../api.js";
import { go } from "../nav.js";
import { field, h, input, pager, select } from "../ui.js";
import { deliveriesTable } from "./deliveries.js";

const LIMIT = 25;
const EVENTS = ["order.created", "order.status_changed", "tracking.converted", "aqualine.skipped"];
const OUTCOMES = ["pending", "delivered", "failed"];

function hashFor(filters, offset) {
  const params = new URLSearchParams(Object.entries(filters).filter(([, v]) => v));
  if (offset) params.set("offset", String(offset));
  const text = params.toString();
  return `#/webhooks${text ? "?" + text : ""}`;
}

export async function render(_args, params) {
  const filters = {
    event: params.get("event") || "",
    outcome: params.get("outcome") || "",
    order_id: params.get("order_id") || "",
  };
  const offset = Math.max(0, Number(params.get("offset")) || 0);
  const eventBox = select("event", [["", "Any event"], ...EVENTS.map((e) => [e, e])], filters.event);
  const outcomeBox = select("outcome", [["", "Any outcome"], ...OUTCOMES.map((o) => [o, o])], filters.outcome);
  const orderBox = input("order_id", filters.order_id, { placeholder: "order UUID", size: 38 });
  const form = h(
    "form",
    {
      class: "inline",
      onsubmit: (event) => {
        event.preventDefault();
        go(hashFor({ event: eventBox.value, outcome: outcomeBox.value, order_id: orderBox.value.trim() }, 0));
      },
    },
    field("Event", eventBox),
    field("Outcome", outcomeBox),
    field("Order id", orderBox),
    h("button", { type: "submit" }, "Filter"),
  );
  const status = h("div", { "aria-live": "polite" });
  const list = h("div");
  const draw = async () => {
    const data = await get("/v1/webhooks/deliveries", { ...filters, limit: LIMIT, offset });
    list.replaceChildren(
      deliveriesTable(data.deliveries, status, draw),
      pager(data.total, LIMIT, offset, (next) => go(hashFor(filters, next))),
    );
  };
  await draw();
  return [h("h1", {}, "Webhooks"), form, status, list];
}
