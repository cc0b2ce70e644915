// Pieces more than one page shows.

import { ApiError } from "../api.js";
import { h, orderLink, when } from "../ui.js";

export const ORDER_COLUMNS = [
  ["Order", (o) => orderLink(o.id, o.platform_order_id || o.id.slice(0, 8))],
  ["Status", (o) => h("span", { "data-testid": "order-status" }, o.status)],
  ["Platform", (o) => o.platform],
  ["Total", (o) => o.total],
  ["Tracking", (o) => o.tracking_number],
  ["External id", (o) => o.external_order_id],
  ["Created", (o) => when(o.created_at)],
];

// Every read counts against the key's rate limit (60 a minute unless raised), like any client's:
// refresh no faster than this, and not at all while the tab is hidden.
export const REFRESH_S = 5;

/** Re-run `refresh` while the page is shown, so new orders and attempts appear without a reload. */
export function every(refresh, onLeave) {
  const timer = setInterval(() => {
    if (document.visibilityState !== "visible") return;
    // A failed read is retried on the next tick; a bug in the page is reported, not swallowed.
    refresh().catch((error) => {
      if (!(error instanceof ApiError)) console.error(error);
    });
  }, REFRESH_S * 1000);
  onLeave(() => clearInterval(timer));
}
