// The calendar: drag a post to another day or hour, or use its "Move…" button (a small form:
// Enter moves, Escape closes). Both post the same form to /calendar/move.
(function () {
  "use strict";
  const dialog = document.getElementById("move-dialog");
  const dropForm = document.getElementById("drop-form");
  let opener = null;

  function set(form, name, value) {
    form.querySelector(`[name="${name}"]`).value = value || "";
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest(".move-button");
    if (button && dialog) {
      opener = button;
      set(dialog, "outbox_id", button.dataset.outboxId);
      set(dialog, "date", button.dataset.date);
      set(dialog, "time", /^\d\d:\d\d$/.test(button.dataset.time) ? button.dataset.time : "");
      document.getElementById("move-what").textContent = button.dataset.title || "";
      dialog.showModal();
      dialog.querySelector('[name="date"]').focus();
      return;
    }
    if (dialog && event.target.closest("[data-close]")) dialog.close();
  });
  if (dialog) dialog.addEventListener("close", () => { if (opener) opener.focus(); });

  let dragged = null;
  document.addEventListener("dragstart", (event) => {
    const entry = event.target.closest && event.target.closest('.entry[draggable="true"]');
    if (!entry) return;
    dragged = entry;
    event.dataTransfer.setData("text/plain", entry.dataset.outboxId);
    event.dataTransfer.effectAllowed = "move";
    entry.classList.add("dragging");
  });
  document.addEventListener("dragend", () => {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
    document.querySelectorAll(".drop-here").forEach((el) => el.classList.remove("drop-here"));
  });
  function target(event) {
    return dragged && event.target.closest ? event.target.closest("[data-drop-date]") : null;
  }
  document.addEventListener("dragover", (event) => {
    const slot = target(event);
    if (!slot) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    document.querySelectorAll(".drop-here").forEach((el) => { if (el !== slot) el.classList.remove("drop-here"); });
    slot.classList.add("drop-here");
  });
  document.addEventListener("drop", (event) => {
    const slot = target(event);
    if (!slot || !dropForm) return;
    event.preventDefault();
    set(dropForm, "outbox_id", dragged.dataset.outboxId);
    set(dropForm, "date", slot.dataset.dropDate);
    set(dropForm, "time", slot.dataset.dropTime || "");
    dropForm.requestSubmit();
  });
})();
