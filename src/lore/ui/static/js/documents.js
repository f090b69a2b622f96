// Documents: an upload's progress (bytes sent, then the server parsing and indexing), and the second step that
// confirms a deletion (a button, not a dialog: reachable and dismissable from the keyboard).
(function () {
  "use strict";

  function progressOf(form) {
    var box = form.querySelector("[data-upload-progress]");
    return box && { box: box, bar: box.querySelector("progress"), label: box.querySelector("[data-upload-label]") };
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.target.closest && event.target.closest("form[data-upload]");
    var progress = form && progressOf(form);
    if (!progress) { return; }
    form.dataset.phase = "upload";
    progress.bar.value = 0;
    progress.label.textContent = "Uploading…";
    progress.box.hidden = false;
  });

  // htmx reports the request's upload (and then its download) progress; once every byte is sent the server
  // is parsing, chunking and embedding: the bar becomes indeterminate until it answers.
  document.addEventListener("htmx:xhr:progress", function (event) {
    var form = event.target.closest && event.target.closest("form[data-upload]");
    var progress = form && progressOf(form);
    if (!progress || form.dataset.phase !== "upload" || !event.detail.lengthComputable) { return; }
    var total = event.detail.total || 1;
    progress.bar.value = Math.round((event.detail.loaded / total) * 100);
    progress.label.textContent = "Uploading… " + progress.bar.value + "%";
    if (event.detail.loaded >= total) {
      form.dataset.phase = "indexing";
      progress.bar.removeAttribute("value");
      progress.label.textContent = "Parsing and indexing…";
    }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.target.closest && event.target.closest("form[data-upload]");
    var progress = form && progressOf(form);
    if (!progress) { return; }
    delete form.dataset.phase;
    progress.box.hidden = true;
    if (event.detail.xhr && event.detail.xhr.status < 300) { form.reset(); }
  });

  function closeConfirm(cell, focus) {
    var open = cell.querySelector("[data-confirm-open]");
    cell.querySelector(".confirm").hidden = true;
    open.hidden = false;
    open.setAttribute("aria-expanded", "false");
    if (focus) { open.focus(); }
  }

  document.addEventListener("click", function (event) {
    var open = event.target.closest("[data-confirm-open]");
    if (open) {
      var cell = open.closest("[data-confirm]");
      cell.querySelector(".confirm").hidden = false;
      open.hidden = true;
      open.setAttribute("aria-expanded", "true");
      cell.querySelector("[data-confirm-yes]").focus();
      return;
    }
    var cancel = event.target.closest("[data-confirm-cancel]");
    if (cancel) { closeConfirm(cancel.closest("[data-confirm]"), true); }
  });

  document.addEventListener("keydown", function (event) {
    var cell = event.key === "Escape" && event.target.closest && event.target.closest("[data-confirm]");
    if (cell && !cell.querySelector(".confirm").hidden) { closeConfirm(cell, true); }
  });
})();
