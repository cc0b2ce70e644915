// The console's shell: sign-in, the mode marker, the nav, and the hash router (#/orders ...).

import { ApiError, get, session } from "./api.js";
import { go, leave, setRenderer } from "./nav.js";
import { field, h, input, message, showError } from "./ui.js";
import * as billing from "./pages/billing.js";
import * as keys from "./pages/keys.js";
import * as order from "./pages/order.js";
import * as orders from "./pages/orders.js";
import * as overview from "./pages/overview.js";
import * as settings from "./pages/settings.js";
import * as webhooks from "./pages/webhooks.js";

const PAGES = { overview, orders, order, webhooks, settings, billing, keys };
const main = document.getElementById("main");

function route() {
  const [path, search = ""] = location.hash.replace(/^#\/?/, "").split("?");
  const [name, ...rest] = path.split("/");
  return { name: name || "overview", args: rest.map(decodeURIComponent), params: new URLSearchParams(search) };
}

function chrome(signedIn) {
  document.getElementById("nav").hidden = !signedIn;
  document.getElementById("sign-out").hidden = !signedIn;
  const mode = document.getElementById("mode");
  mode.hidden = !signedIn;
  if (signedIn) {
    const test = session.mode() === "test";
    mode.className = `mode ${test ? "test" : "live"}`;
    mode.textContent = test ? "Test mode" : "Live mode";
  }
}

function signInPage(problem) {
  const key = input("api_key", "", { type: "password", autocomplete: "off", required: true, spellcheck: "false" });
  const status = h("div");
  if (problem) status.append(message(problem, "error"));
  const form = h(
    "form",
    {
      class: "stack",
      onsubmit: async (event) => {
        event.preventDefault();
        session.signIn(key.value.trim());
        try {
          await get("/v1/billing/balance"); // any authenticated read proves the key
          go("#/overview");
        } catch (error) {
          session.signOut();
          showError(status, error);
        }
      },
    },
    field("API key", key),
    h("button", { type: "submit" }, "Sign in"),
  );
  return [
    h("h1", {}, "Sign in"),
    h("p", {}, "Paste an API key (oatl_live_… or oatl_test_…). It stays in this browser tab only and is forgotten when the tab closes."),
    form,
    status,
  ];
}

async function render() {
  leave();
  const signedIn = Boolean(session.key());
  chrome(signedIn);
  if (!signedIn) {
    main.replaceChildren(...signInPage());
    return;
  }
  const { name, args, params } = route();
  const page = PAGES[name] || overview;
  for (const link of document.querySelectorAll("nav a")) {
    const current = link.getAttribute("href") === `#/${name === "order" ? "orders" : name}`;
    if (current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  main.replaceChildren(h("p", { class: "muted" }, "Loading…"));
  try {
    // Pages leave out a part with null (a message only some states show).
    main.replaceChildren(...(await page.render(args, params)).filter((part) => part !== null));
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      session.signOut();
      chrome(false);
      main.replaceChildren(...signInPage(error.message));
      return;
    }
    // An API refusal is shown as worded; anything else is a bug in a page, and console.error makes
    // it visible (the browser tests fail on it) instead of only a line of text.
    if (!(error instanceof ApiError)) console.error(error);
    main.replaceChildren(h("h1", {}, "Something went wrong"), message(error.message || String(error), "error"));
  }
  document.title = `${main.querySelector("h1")?.textContent || "Console"} · OrderAtlas`;
}

document.getElementById("sign-out").addEventListener("click", () => {
  session.signOut();
  go("#/");
});
setRenderer(render);
window.addEventListener("hashchange", render);
render();
