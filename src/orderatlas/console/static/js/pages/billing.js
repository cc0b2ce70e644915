// Billing: the balance and prices, the ledger page by page, and a Stripe Checkout top-up.

import { get, post } from "../api.js";
import { go } from "../nav.js";
import { field, h, input, message, table, when } from "../ui.js";

const LIMIT = 25;

export async function render(_args, params) {
  const after = params.get("starting_after") || "";
  const [balance, ledger] = await Promise.all([
    get("/v1/billing/balance"),
    get("/v1/billing/transactions", { limit: LIMIT, starting_after: after }),
  ]);
  const credits = input("credits", "100", { type: "number", min: 1, step: 1, required: true });
  const status = h("div", { "aria-live": "polite" });
  const back = `${location.origin}/console#/billing`;
  const topup = h(
    "form",
    {
      class: "inline",
      onsubmit: async (event) => {
        event.preventDefault();
        try {
          const made = await post("/v1/billing/topup", {
            credits: Number(credits.value),
            success_url: `${back}?topup=paid`,
            cancel_url: `${back}?topup=cancelled`,
          });
          status.replaceChildren(message(`Opening Stripe Checkout for ${made.credits} credits…`));
          location.assign(made.checkout_url);
        } catch (error) {
          status.replaceChildren(message(error.message, "error"));
        }
      },
    },
    field("Credits to buy", credits),
    h("button", { type: "submit" }, "Top up"),
  );
  const outcome = params.get("topup");
  const last = ledger.transactions[ledger.transactions.length - 1];
  return [
    h("h1", {}, "Billing"),
    outcome === "paid" ? message("Payment received: the credits are added once Stripe confirms it.") : null,
    outcome === "cancelled" ? message("The top-up was cancelled.", "error") : null,
    h(
      "div",
      { class: "figures" },
      h("div", { class: "figure" }, h("div", { class: "value", "data-testid": "balance" }, balance.credit_balance), h("div", { class: "name" }, `${balance.mode} credits`)),
      h("div", { class: "figure" }, h("div", { class: "value" }, balance.credits_owed), h("div", { class: "name" }, "Credits owed")),
    ),
    h("h2", {}, "Prices"),
    table("Credits per operation", [["Operation", ([k]) => k.replaceAll("_", " ")], ["Credits", ([, v]) => v]], Object.entries(balance.costs)),
    h("h2", {}, "Top up"),
    topup,
    status,
    h("h2", {}, "Transactions"),
    table(`${ledger.total} transaction(s)`, [
      ["When", (t) => when(t.created_at)],
      ["Type", (t) => t.type],
      ["Amount", (t) => t.amount],
      ["Description", (t) => t.description],
    ], ledger.transactions),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", class: "quiet", disabled: !after, onclick: () => go("#/billing") }, "First page"),
      h("button", { type: "button", class: "quiet", disabled: !ledger.has_more, onclick: () => go(`#/billing?starting_after=${last.id}`) }, "Next page"),
    ),
  ];
}
