// The chat page's script: the question box is emptied once its question is taken, and the newest turn is
// kept in view while its answer streams in.
(function () {
  "use strict";
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (!form.matches || !form.matches("[data-chat-question]") || event.detail.xhr.status >= 300) { return; }
    form.reset();
    form.querySelector("textarea").focus();
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var turns = document.getElementById("turns");
    if (turns && turns.contains(event.detail.target) && turns.lastElementChild) {
      turns.lastElementChild.scrollIntoView({ block: "nearest" });
    }
  });
})();
