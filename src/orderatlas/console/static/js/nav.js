// What pages share with the shell: moving to another page, stopping timers on leaving, and the
// status lists the server wrote into the page (from orders/statuses.py).

export const STATUSES = JSON.parse(document.body.dataset.statuses);

let rerender = () => {};
let leaving = [];

export function setRenderer(render) {
  rerender = render;
}

export function go(hash) {
  if (location.hash === hash) rerender();
  else location.hash = hash;
}

/** Pages register what to stop (a refresh timer) when the user goes elsewhere. */
export function onLeave(stop) {
  leaving.push(stop);
}

export function leave() {
  for (const stop of leaving) stop();
  leaving = [];
}
