// Settings: webhook and Discord URLs, ship-from, convert_tracking, and rotating the secret.

import { get, post, put } from "../api.js";
import { field, h, input, message, shownOnce } from "../ui.js";

const TEXT_FIELDS = [
  ["webhook_url", "Webhook URL"],
  ["discord_webhook_url", "Discord webhook URL"],
  ["ship_from_name", "Ship-from name"],
  ["ship_from_line1", "Ship-from street"],
  ["ship_from_city", "Ship-from city"],
  ["ship_from_state", "Ship-from state"],
  ["ship_from_zip", "Ship-from ZIP"],
  ["ship_from_phone", "Ship-from phone"],
];

export async function render() {
  const current = await get("/v1/settings");
  const boxes = Object.fromEntries(TEXT_FIELDS.map(([name]) => [name, input(name, current[name], { size: 60 })]));
  const convert = input("convert_tracking", "", { type: "checkbox", checked: current.convert_tracking });
  const status = h("div", { "aria-live": "polite" });
  const form = h(
    "form",
    {
      class: "stack",
      onsubmit: async (event) => {
        event.preventDefault();
        // Only what changed: PUT is partial, and a test key may change its own webhook targets
        // but gets 403 live_key_required for any shared setting it sends, even unchanged.
        const body = {};
        if (convert.checked !== Boolean(current.convert_tracking)) body.convert_tracking = convert.checked;
        for (const [name] of TEXT_FIELDS) {
          const value = boxes[name].value.trim();
          if (value !== (current[name] ?? "")) body[name] = value;
        }
        try {
          Object.assign(current, await put("/v1/settings", body));
          status.replaceChildren(message("Settings saved."));
        } catch (error) {
          status.replaceChildren(message(error.message, "error"));
        }
      },
    },
    TEXT_FIELDS.map(([name, label]) => field(label, boxes[name])),
    field("Convert tracking for eBay", convert),
    h("button", { type: "submit" }, "Save settings"),
  );
  const secretArea = h("div", { "aria-live": "polite" });
  const rotate = h("button", { type: "button", class: "danger" }, "Rotate webhook secret");
  rotate.addEventListener("click", async () => {
    try {
      const rotated = await post("/v1/settings/rotate-webhook-secret", {});
      secretArea.replaceChildren(shownOnce("The new webhook secret: update your receivers.", rotated.webhook_secret));
    } catch (error) {
      secretArea.replaceChildren(message(error.message, "error"));
    }
  });
  return [
    h("h1", {}, "Settings"),
    h("p", { class: "muted" }, `Account ${current.email} · rate limit ${current.rate_limit || "unlimited"} per minute`),
    current.ship_from_required ? message("Tracking conversion is on but no ship-from address is set.", "error") : null,
    form,
    status,
    h("h2", {}, "Webhook signing secret"),
    h("p", {}, "Rotating makes a new secret at once; webhooks sent after it are signed with the new one."),
    rotate,
    secretArea,
  ];
}
