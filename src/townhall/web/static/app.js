// Townhall's only script of its own: show whether the live inbox stream is connected, and keep
// a composer's submit button in step with its live code of conduct check.
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

  // A finding that blocks disables the composer's submit button (the server refuses it anyway:
  // this only saves a round trip). Without this script the form still submits and is checked.
  function sync(form) {
    var findings = form.querySelector(".findings");
    var blocked = !!findings && findings.getAttribute("data-blocks") === "true";
    form.querySelectorAll("button[type=submit]").forEach(function (button) {
      button.disabled = blocked;
      if (blocked) {
        button.setAttribute("title", "Fix what the code of conduct marks as “Stops it” first");
      } else {
        button.removeAttribute("title");
      }
    });
  }
  function syncAll() { document.querySelectorAll("form[data-conduct]").forEach(sync); }
  document.addEventListener("DOMContentLoaded", syncAll);
  document.addEventListener("htmx:afterSettle", function (event) {
    var form = event.target.closest ? event.target.closest("form[data-conduct]") : null;
    if (form) { sync(form); }
  });
})();
