// API keys: list, create (the key shown once), rename and per-key overrides, revoke.

import { del, get, patch, post, session } from "../api.js";
import { go } from "../nav.js";
import { field, h, input, message, pager, select, shownOnce, table, when } from "../ui.js";

const LIMIT = 25;

function editor(key, status) {
  const name = input("name", key.name, { size: 30 });
  const webhook = input("webhook_url", key.webhook_url, { size: 50 });
  const discord = input("discord_webhook_url", key.discord_webhook_url, { size: 50 });
  const form = h(
    "form",
    {
      class: "stack",
      onsubmit: async (event) => {
        event.preventDefault();
        try {
          await patch(`/v1/api-keys/${key.id}`, {
            name: name.value.trim(),
            webhook_url: webhook.value.trim(),
            discord_webhook_url: discord.value.trim(),
          });
          go(`#/keys?saved=${key.id}`);
        } catch (error) {
          status.replaceChildren(message(error.message, "error"));
        }
      },
    },
    field("Name", name),
    field("Webhook URL override (empty: the account's)", webhook),
    field("Discord URL override (empty: the account's)", discord),
    h("button", { type: "submit" }, "Save key"),
  );
  return h("details", {}, h("summary", {}, "Edit"), form);
}

function revoker(key, status) {
  if (!key.active) return h("span", { class: "muted" }, "revoked");
  const button = h("button", { type: "button", class: "danger", "aria-label": `Revoke ${key.key_prefix}` }, "Revoke");
  button.addEventListener("click", async () => {
    if (button.dataset.armed !== "yes") {
      button.dataset.armed = "yes"; // a second click confirms: no dialog to miss
      button.textContent = "Click again to revoke";
      return;
    }
    try {
      await del(`/v1/api-keys/${key.id}`);
      go(`#/keys?revoked=${key.id}`);
    } catch (error) {
      status.replaceChildren(message(error.message, "error"));
    }
  });
  return button;
}

export async function render(_args, params) {
  const offset = Math.max(0, Number(params.get("offset")) || 0);
  const data = await get("/v1/api-keys", { limit: LIMIT, offset });
  const status = h("div", { "aria-live": "polite" });
  if (params.get("saved")) status.append(message("Key saved."));
  if (params.get("revoked")) status.append(message("Key revoked."));
  const created = h("div", { "aria-live": "polite" });
  const name = input("name", "", { size: 30 });
  const mode = select("mode", [["test", "test"], ["live", "live"]], session.mode());
  const form = h(
    "form",
    {
      class: "inline",
      onsubmit: async (event) => {
        event.preventDefault();
        try {
          const key = await post("/v1/api-keys", { name: name.value.trim(), mode: mode.value });
          created.replaceChildren(shownOnce(`Key ${key.key_prefix} (${key.mode}) created.`, key.api_key));
        } catch (error) {
          created.replaceChildren(message(error.message, "error"));
        }
      },
    },
    field("New key name", name),
    field("Mode", mode),
    h("button", { type: "submit" }, "Create key"),
  );
  return [
    h("h1", {}, "API keys"),
    form,
    created,
    status,
    table(`${data.total} key(s)`, [
      ["Prefix", (k) => h("code", {}, k.key_prefix)],
      ["Name", (k) => k.name],
      ["Mode", (k) => k.mode],
      ["Created", (k) => when(k.created_at)],
      ["Overrides", (k) => [k.webhook_url, k.discord_webhook_url].filter(Boolean).join(" · ") || "—"],
      ["", (k) => (k.active ? editor(k, status) : "")],
      ["", (k) => revoker(k, status)],
    ], data.api_keys),
    pager(data.total, LIMIT, offset, (next) => go(`#/keys?offset=${next}`)),
  ];
}
