// Overview: the /v1/dashboard/overview figures and the recent orders.

import { get } from "../api.js";
import { h, table } from "../ui.js";
import { ORDER_COLUMNS } from "./common.js";

const FIGURES = [
  ["orders_today", "Orders today"],
  ["active_tracking", "Active tracking"],
  ["total_orders", "Total orders"],
  ["credit_balance", "Credit balance"],
  ["api_calls_month", "API calls this month"],
];

export async function render() {
  const data = await get("/v1/dashboard/overview");
  return [
    h("h1", {}, "Overview"),
    h(
      "div",
      { class: "figures" },
      FIGURES.map(([key, name]) =>
        h("div", { class: "figure", "data-testid": key }, h("div", { class: "value" }, data[key]), h("div", { class: "name" }, name)),
      ),
    ),
    h("h2", {}, "Recent orders"),
    table("The 10 newest orders", ORDER_COLUMNS, data.recent_orders),
  ];
}
