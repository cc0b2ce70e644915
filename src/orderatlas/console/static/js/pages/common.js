// Pieces more than one page shows.

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

/** Re-run `refresh` every few seconds while the page is shown (orders appear without a reload). */
export function every(seconds, refresh, onLeave) {
  const timer = setInterval(() => refresh().catch(() => {}), seconds * 1000);
  onLeave(() => clearInterval(timer));
}
