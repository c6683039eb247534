// The console's only script of its own (the pages carry no inline script,
// as their Content-Security-Policy demands): the copy buttons of the
// copy-password fragment.
"use strict";
document.addEventListener("click", function (ev) {
  var button = ev.target.closest("button[data-copy]");
  if (!button) {
    return;
  }
  var field = document.getElementById(button.getAttribute("data-copy"));
  var note = document.querySelector('[data-copied="' + button.getAttribute("data-copy") + '"]');
  if (!field) {
    return;
  }
  var done = function () {
    if (note) {
      note.textContent = "Copied to the clipboard. This read was audited.";
    }
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(field.value).then(done, function () {
      field.type = "text";
      field.select();
    });
    return;
  }
  // Without the clipboard API (plain HTTP off localhost): select it for Ctrl+C.
  field.type = "text";
  field.select();
  if (note) {
    note.textContent = "Selected: press Ctrl+C (⌘C) to copy. This read was audited.";
  }
});
