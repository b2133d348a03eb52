// Townhall's only script of its own: show whether the live inbox stream is connected.
(function () {
  "use strict";
  function mark(event, online) {
    var section = event.target.closest ? event.target.closest("#inbox-main") : null;
    var badge = section ? section.querySelector(".live") : null;
    if (!badge) { return; }
    badge.classList.toggle("offline", !online);
    badge.textContent = online ? "Live" : "Reconnecting…";
  }
  document.addEventListener("htmx:sseOpen", function (event) { mark(event, true); });
  document.addEventListener("htmx:sseError", function (event) { mark(event, false); });
})();
