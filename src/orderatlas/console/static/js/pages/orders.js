// Orders: search, status filter and paging over /v1/dashboard/orders, refreshed every 5 s.

import { get } from "../api.js";
import { STATUSES, go, onLeave } from "../nav.js";
import { field, h, input, pager, select, table } from "../ui.js";
import { ORDER_COLUMNS, every } from "./common.js";

const LIMIT = 25;

function hashFor(search, status, offset) {
  const params = new URLSearchParams();
  if (search) params.set("search", search);
  if (status) params.set("status", status);
  if (offset) params.set("offset", String(offset));
  const text = params.toString();
  return `#/orders${text ? "?" + text : ""}`;
}

export async function render(_args, params) {
  const search = params.get("search") || "";
  const status = params.get("status") || "";
  const offset = Math.max(0, Number(params.get("offset")) || 0);
  const query = { search, status, limit: LIMIT, offset };

  const searchBox = input("search", search, { type: "search", maxlength: 200 });
  const statusBox = select("status", [["", "Any status"], ...STATUSES.all.map((s) => [s, s])], status);
  const form = h(
    "form",
    {
      class: "inline",
      role: "search",
      onsubmit: (event) => {
        event.preventDefault();
        go(hashFor(searchBox.value.trim(), statusBox.value, 0));
      },
    },
    field("Search", searchBox),
    field("Status", statusBox),
    h("button", { type: "submit" }, "Filter"),
  );

  const list = h("div");
  const draw = async () => {
    const data = await get("/v1/dashboard/orders", query);
    list.replaceChildren(
      table(`Orders matching: ${data.total}`, ORDER_COLUMNS, data.orders),
      pager(data.total, LIMIT, offset, (next) => go(hashFor(search, status, next))),
    );
  };
  await draw();
  every(draw, onLeave);
  return [h("h1", {}, "Orders"), form, list];
}
