// The console's only script of its own (the pages carry no inline script,
// as their Content-Security-Policy demands): the copy buttons of the
// password page, and the pause button of a table that refreshes itself.
"use strict";

// copy copies the password field that button names to the clipboard. A
// click that the clipboard refuses, or a browser without it (plain HTTP off
// localhost), selects the field for Ctrl+C instead; the page's own attempt
// (auto) only ever copies, and leaves the button otherwise.
function copy(button, auto) {
  var name = button.getAttribute("data-copy");
  var field = document.getElementById(name);
  var note = document.querySelector('[data-copied="' + name + '"]');
  if (!field) {
    return;
  }
  var say = function (text) {
    if (note) {
      note.textContent = text;
    }
  };
  var select = function () {
    if (auto) {
      say("Press Copy to copy it to the clipboard. This read was audited.");
      return;
    }
    field.type = "text";
    field.select();
    say("Selected: press Ctrl+C (⌘C) to copy. This read was audited.");
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(field.value).then(function () {
      say("Copied to the clipboard. This read was audited.");
    }, select);
    return;
  }
  select();
}

document.addEventListener("click", function (ev) {
  var button = ev.target.closest("button[data-copy]");
  if (button) {
    copy(button, false);
    return;
  }
  var pause = ev.target.closest("button[data-pauses]");
  if (pause) {
    setPaused(pause, pause.getAttribute("aria-pressed") !== "true");
  }
});

// A pause button (data-pauses names the element that refreshes itself) is
// a toggle: aria-pressed says whether refreshing is paused, and the choice
// is kept for the tab (sessionStorage), across refreshes and reloads.
function pausedKey(button) {
  return "understudy.paused." + button.getAttribute("data-pauses");
}

function setPaused(button, paused) {
  button.setAttribute("aria-pressed", paused ? "true" : "false");
  var state = document.getElementById(button.getAttribute("aria-describedby"));
  if (state) {
    state.textContent = paused ? "Paused: the table is not refreshed until you resume." : "Refreshing every 5 seconds.";
  }
  try {
    if (paused) {
      window.sessionStorage.setItem(pausedKey(button), "1");
    } else {
      window.sessionStorage.removeItem(pausedKey(button));
    }
  } catch (e) {
    // No storage (a private window): the choice lasts as long as the page.
  }
}

function isPaused(elt) {
  var button = elt.id && document.querySelector('button[data-pauses="' + elt.id + '"]');
  return !!button && button.getAttribute("aria-pressed") === "true";
}

// A paused element sends no refresh at all.
document.addEventListener("htmx:beforeRequest", function (ev) {
  if (ev.detail && ev.detail.elt && isPaused(ev.detail.elt)) {
    ev.preventDefault();
  }
});

document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("button[data-pauses]").forEach(function (button) {
    var paused = false;
    try {
      paused = window.sessionStorage.getItem(pausedKey(button)) === "1";
    } catch (e) {
      paused = false;
    }
    setPaused(button, paused);
  });
  var auto = document.querySelector("button[data-copy][data-autocopy]");
  if (auto) {
    copy(auto, true);
  }
});
