// One order: every field of GET /v1/order/:id, items, notes, timeline, tracking and conversion,
// the invoice link, its webhook deliveries, and the moves the API allows from its status.

import { get, post, session } from "../api.js";
import { STATUSES, go, onLeave } from "../nav.js";
import { h, message, safeLink, table, when } from "../ui.js";
import { every } from "./common.js";
import { deliveriesTable } from "./deliveries.js";

const SHOWN_APART = new Set(["items", "notes", "metadata"]);

function actions(order) {
  const placed = STATUSES.placed.includes(order.status);
  const shipping = STATUSES.shipping.includes(order.status);
  const path = `/v1/order/${order.id}`;
  const list = [];
  if (session.mode() === "test" && (placed || shipping)) {
    list.push(["Advance", `/v1/sandbox/orders/${order.id}/advance`, undefined]);
  }
  if (placed || shipping) {
    list.push(["Mark delivered", `${path}/delivered`, undefined]);
    list.push(["Cancel", `${path}/cancelled`, { reason: "cancelled" }, "danger"]);
    list.push(["Mark lost", `${path}/cancelled`, { reason: "lost" }, "danger"]);
  }
  // A label held is dropped before converting again (409 already_converted otherwise).
  if ((placed || shipping) && !order.aqualine_tracking) list.push(["Convert tracking", `${path}/convert`, undefined]);
  if (order.aqualine_tracking) list.push(["Drop conversion", `${path}/drop-conversion`, undefined]);
  return list;
}

function fields(order) {
  const entries = Object.entries(order).filter(([key]) => !SHOWN_APART.has(key));
  entries.push(["metadata", JSON.stringify(order.metadata)]);
  return h(
    "dl",
    { class: "fields" },
    entries.map(([key, value]) => [h("dt", {}, key), h("dd", { "data-field": key }, typeof value === "boolean" ? String(value) : value)]),
  );
}

function tracking(order) {
  return h(
    "dl",
    { class: "fields" },
    h("dt", {}, "Tracking number"), h("dd", { "data-testid": "tracking" }, order.tracking_number || "—"),
    h("dt", {}, "Carrier"), h("dd", {}, order.carrier || "—"),
    h("dt", {}, "Converted (Aquiline)"), h("dd", { "data-testid": "aqualine" }, order.aqualine_tracking || "—"),
    h("dt", {}, "Invoice"), h("dd", {}, order.invoice_link ? safeLink(order.invoice_link, "Open the invoice") : "not fetched yet"),
    h("dt", {}, "Order page copy"), h("dd", {}, order.order_html_url ? safeLink(order.order_html_url, "Open the copy") : "—"),
    h("dt", {}, "Delivery photo"), h("dd", {}, order.delivery_photo_url ? safeLink(order.delivery_photo_url) : "—"),
  );
}

export async function render([id]) {
  const [order, events, deliveries] = await Promise.all([
    get(`/v1/order/${encodeURIComponent(id)}`),
    get(`/v1/order/${encodeURIComponent(id)}/events`, { limit: 200 }),
    get("/v1/webhooks/deliveries", { order_id: id, limit: 50 }),
  ]);
  const status = h("div", { "aria-live": "polite" });
  const buttons = actions(order).map(([label, path, body, kind]) => {
    const button = h("button", { type: "button", class: kind || undefined }, label);
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await post(path, body);
        go(`#/order/${order.id}?done=${encodeURIComponent(label)}`);
      } catch (error) {
        status.replaceChildren(message(error.message, "error"));
        button.disabled = false;
      }
    });
    return button;
  });
  const done = new URLSearchParams(location.hash.split("?")[1] || "").get("done");
  if (done) status.append(message(`${done}: done. The order is now ${order.status}.`));

  const webhookStatus = h("div", { "aria-live": "polite" });
  const webhookList = h("div");
  const drawDeliveries = async (data) => {
    const fresh = data || (await get("/v1/webhooks/deliveries", { order_id: id, limit: 50 }));
    webhookList.replaceChildren(deliveriesTable(fresh.deliveries, webhookStatus, () => drawDeliveries()));
  };
  await drawDeliveries(deliveries);
  every(() => drawDeliveries(), onLeave);

  return [
    h("h1", {}, `Order ${order.platform_order_id || order.id}`),
    h("p", {}, "Status: ", h("strong", { "data-testid": "status" }, order.status), ` · created ${when(order.created_at)}`),
    h("div", { class: "actions" }, buttons.length ? buttons : h("span", { class: "muted" }, "No moves are open from this status.")),
    status,
    h("h2", {}, "Timeline"),
    h(
      "ol",
      { class: "timeline", "data-testid": "timeline" },
      events.events.map((e) => h("li", {}, `${e.previous_status ? e.previous_status + " → " : ""}${e.status} · ${when(e.created_at)}`)),
    ),
    h("h2", {}, "Tracking and conversion"),
    tracking(order),
    h("h2", {}, "Items"),
    table("Items and their outcomes", [
      ["ASIN", (i) => i.asin],
      ["Quantity", (i) => i.quantity],
      ["Price max", (i) => i.price_max],
      ["Price", (i) => i.price],
      ["Seller", (i) => i.seller],
      ["Outcome", (i) => i.outcome],
    ], order.items),
    h("h2", {}, "Notes"),
    order.notes.length ? h("ul", {}, order.notes.map((n) => h("li", {}, n))) : h("p", { class: "muted" }, "No notes."),
    h("h2", {}, "Webhook deliveries"),
    webhookStatus,
    webhookList,
    h("h2", {}, "Every field"),
    fields(order),
  ];
}
