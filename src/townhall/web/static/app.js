// Townhall's only script of its own: show whether the live inbox stream is connected, keep a
// composer's submit button in step with its live code of conduct check, open the menu at phone
// width, the inbox's row selection and keyboard shortcuts, and saved replies put into the reply
// box where the cursor is. Every page works without it.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  function mark(event, online) {
    var section = event.target.closest ? event.target.closest("#inbox-main") : null;
    var badge = section ? section.querySelector(".live") : null;
    if (!badge) { return; }
    badge.classList.toggle("offline", !online);
    badge.textContent = online ? "Live" : "Reconnecting…";
  }
  document.addEventListener("htmx:sseOpen", function (event) { mark(event, true); });
  document.addEventListener("htmx:sseError", function (event) { mark(event, false); });

  // A live row arrives at the top of the list: move it to its place in the list's order (its
  // data-sort-key against the others'). One that ranks after every row shown while more pages
  // follow belongs to a later page: it is dropped here (the count still says it is there).
  function place(list) {
    list.querySelectorAll(":scope > li.row[data-live]").forEach(function (row) {
      row.removeAttribute("data-live");
      var key = row.getAttribute("data-sort-key");
      if (!key) { return; }
      var next = row.nextElementSibling;
      while (next && next.classList.contains("row") &&
             (next.getAttribute("data-sort-key") || "") < key) {
        next = next.nextElementSibling;
      }
      if (next !== row.nextElementSibling) { list.insertBefore(row, next); }
      if (next && next.classList.contains("more")) { row.remove(); }
    });
  }
  document.addEventListener("htmx:sseMessage", function (event) {
    var list = event.target;
    if (list && list.id === "item-rows") { place(list); }
  });

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

  // Phone width: the menu button shows and hides the nav; the filters start folded.
  var narrow = window.matchMedia("(max-width: 900px)");
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest(".menu-button") : null;
    if (!button) { return; }
    var bar = button.closest(".topbar");
    var open = !bar.classList.contains("nav-open");
    bar.classList.toggle("nav-open", open);
    button.setAttribute("aria-expanded", open ? "true" : "false");
  });
  document.addEventListener("DOMContentLoaded", function () {
    if (!narrow.matches) { return; }
    document.querySelectorAll("details.filters-fold[open]").forEach(function (fold) {
      fold.open = false;
    });
  });

  // The inbox: "All shown" selects every row for a bulk action.
  document.addEventListener("change", function (event) {
    if (event.target.id !== "select-all") { return; }
    document.querySelectorAll("#item-rows .row-check").forEach(function (box) {
      box.checked = event.target.checked;
    });
  });

  // Keyboard shortcuts on the inbox: j/k next/previous, Enter/o open, x select, a assign to me,
  // ? the list of shortcuts. None fires while typing in a field or with a modifier key.
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#item-rows li.row")); }
  function current() { return document.querySelector("#item-rows li.row.current"); }
  function move(step) {
    var all = rows();
    if (!all.length) { return; }
    var index = all.indexOf(current());
    var next = index < 0 ? (step > 0 ? 0 : all.length - 1)
      : Math.min(Math.max(index + step, 0), all.length - 1);
    all.forEach(function (row) { row.classList.remove("current"); });
    all[next].classList.add("current");
    var link = all[next].querySelector(".row-link");
    if (link) { link.focus({ preventScroll: true }); }
    all[next].scrollIntoView({ block: "nearest" });
  }
  function help(show) {
    var overlay = document.getElementById("shortcuts");
    if (!overlay) { return; }
    overlay.hidden = show === undefined ? !overlay.hidden : !show;
    if (!overlay.hidden) { overlay.querySelector("button").focus(); }
  }
  function assignToMe(row) {
    var form = document.getElementById("bulk");
    if (!form || !row) { return; }
    var data = new FormData();
    data.append("csrf_token", form.querySelector("[name=csrf_token]").value);
    data.append("back", form.querySelector("[name=back]").value);
    data.append("action", "assign_me");
    data.append("ids", row.getAttribute("data-item-id"));
    // form.action would be the select named "action", not the address.
    fetch(form.getAttribute("action"), { method: "POST", body: data, credentials: "same-origin" })
      .then(function (response) { window.location.assign(response.url); });
  }
  function typing(target) {
    if (!target || !target.closest) { return false; }
    return !!target.closest("input, textarea, select, [contenteditable], [contenteditable=true]");
  }
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target.closest && target.closest(".shortcuts-button")) { help(); }
    if (target.closest && target.closest("[data-close-shortcuts]")) { help(false); }
    var row = target.closest ? target.closest("#item-rows li.row") : null;
    if (row) {
      rows().forEach(function (r) { r.classList.toggle("current", r === row); });
    }
  });
  document.addEventListener("keydown", function (event) {
    if (!document.getElementById("item-rows")) { return; }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    var row = current();
    switch (event.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "o":
      case "Enter":
        if (!row || event.target.closest && event.target.closest("button, a:not(.row-link)")) {
          return;
        }
        window.location.assign(row.querySelector(".row-link").href);
        break;
      case "x":
        if (!row) { return; }
        var box = row.querySelector(".row-check");
        box.checked = !box.checked;
        break;
      case "a": assignToMe(row); break;
      case "?": help(); break;
      case "Escape": help(false); return;
      default: return;
    }
    event.preventDefault();
  });

  // "Use it" puts the chosen saved reply into the reply box at the cursor (not on change: the
  // arrow keys change a select). Without the script, the form reloads the page with it in the box. The box's live conduct check runs on it as on typing.
  function useSaved(form) {
    var select = form.querySelector("select[name=saved]");
    var chosen = select && select.value ? select.options[select.selectedIndex] : null;
    var box = document.getElementById("reply-text");
    if (!chosen || !box) { return false; }
    var text = chosen.getAttribute("data-text") || "";
    var start = box.selectionStart, end = box.selectionEnd;
    if (!box.value.trim()) {
      box.value = text;
    } else {
      var before = box.value.slice(0, start), after = box.value.slice(end);
      var gap = before && !/\s$/.test(before) ? " " : "";
      box.value = before + gap + text + after;
    }
    box.dispatchEvent(new Event("input", { bubbles: true }));
    box.focus();
    select.value = "";
    return true;
  }
  document.addEventListener("submit", function (event) {
    var form = event.target.closest && event.target.closest("form[data-saved-replies]");
    if (form && useSaved(form)) { event.preventDefault(); }
  });
})();
