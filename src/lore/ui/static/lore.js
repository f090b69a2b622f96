// The UI's own script: the light or dark theme (chosen once, kept in this browser), set before the page paints.
(function () {
  "use strict";
  var root = document.documentElement;
  var stored = null;
  try { stored = localStorage.getItem("lore-theme"); } catch (e) { /* storage off: follow the system */ }
  if (stored === "light" || stored === "dark") { root.dataset.theme = stored; }

  function current() {
    if (root.dataset.theme === "light" || root.dataset.theme === "dark") { return root.dataset.theme; }
    return window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-theme-toggle]");
    if (!toggle) { return; }
    var next = current() === "dark" ? "light" : "dark";
    root.dataset.theme = next;
    try { localStorage.setItem("lore-theme", next); } catch (e) { /* kept for this page only */ }
    toggle.setAttribute("aria-pressed", String(next === "dark"));
  });

  // After a swap, move focus to a swapped-in element that asks for it (a form's next step, an error).
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    var focus = target && target.querySelector("[data-focus], [autofocus]");
    if (focus) { focus.focus(); }
  });
})();
