// Jobs: a job new since the page opened arrives as a `job-new` event and goes on top of the table, unless its
// row is there already (the stream reconnected after the server restarted): then that row is replaced.
(function () {
  "use strict";

  document.addEventListener("htmx:sseBeforeMessage", function (event) {
    var rows = event.target;
    if (!rows.matches || !rows.matches("[data-new-jobs]")) { return; }
    var parsed = document.createElement("template");
    parsed.innerHTML = "<table><tbody>" + event.detail.data + "</tbody></table>";
    var row = parsed.content.querySelector("tr[id]");
    var shown = row && document.getElementById(row.id);
    var empty = document.getElementById("no-jobs");
    if (empty) { empty.remove(); }
    if (shown) {
      event.preventDefault();
      htmx.swap(shown, event.detail.data, { swapStyle: "outerHTML" });
    }
  });
})();
