// ЭПОС conversations (F30): Enter sends, Shift+Enter starts a new line; the list stays at its
// newest message and never shows a message twice (a poll and a send may race for it).
(function () {
  "use strict";

  function list() {
    return document.getElementById("messages");
  }

  function toBottom() {
    var messages = list();
    if (messages) messages.scrollTop = messages.scrollHeight;
  }

  function dropRepeats() {
    var seen = {};
    var messages = list();
    if (!messages) return;
    messages.querySelectorAll("li.msg[data-id]").forEach(function (item) {
      if (seen[item.dataset.id]) item.remove();
      else seen[item.dataset.id] = true;
    });
  }

  document.addEventListener("keydown", function (event) {
    var field = event.target;
    if (field.id !== "message-text" || event.key !== "Enter" || event.shiftKey || event.isComposing) {
      return;
    }
    event.preventDefault();
    if (field.value.trim()) field.form.requestSubmit();
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target === list()) {
      dropRepeats();
      toBottom();
    }
    if (event.detail.target && event.detail.target.id === "send-form") {
      var field = document.getElementById("message-text");
      if (field) field.focus();
    }
  });

  document.addEventListener("DOMContentLoaded", toBottom);
})();
