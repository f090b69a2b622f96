// A secret shown once (a new API key, a password Lore chose): copy it; and clear a form once its change is
// made (a refused form keeps what was typed: htmx counts a 4xx answer as swapped, not failed). Where the
// clipboard is unavailable (an insecure origin, a refused permission), the secret is selected for copying.
(function () {
  "use strict";

  function say(button, text) {
    var status = button.closest("section") && button.closest("section").querySelector("[data-copy-status]");
    if (status) { status.textContent = text; }
  }

  function selectIt(field, button) {
    field.focus();
    field.select();
    say(button, "Selected: press Ctrl+C (or ⌘C) to copy it.");
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) { return; }
    var field = document.getElementById(button.dataset.copy);
    if (!field) { return; }
    var clipboard = navigator.clipboard;
    if (!clipboard || typeof clipboard.writeText !== "function") { selectIt(field, button); return; }
    clipboard.writeText(field.value).then(
      function () { say(button, "Copied to the clipboard."); },
      function () { selectIt(field, button); }
    );
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (form && form.matches && form.matches("form[data-reset-on-success]") &&
        event.detail.xhr && event.detail.xhr.status < 300) {
      form.reset();
    }
  });
})();
