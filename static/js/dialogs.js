// The chat dialogs htmx appends to <body> (dialog_modal.html) and the «три точки» menus.
// Here rather than in hx-on:* attributes: the Content-Security-Policy runs only our own static
// files, and hx-on would need eval. Without JavaScript the same links open pages of their own.
(function () {
  "use strict";

  // A dialog htmx has just put on the page opens as a modal.
  document.addEventListener("htmx:load", function (event) {
    var dialog = event.target;
    if (dialog.matches && dialog.matches("dialog[data-modal]") && !dialog.open) {
      dialog.showModal();
    }
  });

  // A closed dialog leaves nothing behind ("close" does not bubble, hence the capture).
  document.addEventListener(
    "close",
    function (event) {
      if (event.target.matches && event.target.matches("dialog[data-modal]")) {
        event.target.remove();
      }
    },
    true
  );

  document.addEventListener("click", function (event) {
    var target = event.target;
    // A click on the backdrop closes the dialog.
    if (target.matches && target.matches("dialog[data-modal]")) {
      target.close();
      return;
    }
    var closer = target.closest && target.closest("[data-modal-close]");
    if (closer && closer.closest("dialog[data-modal]")) {
      event.preventDefault();
      closer.closest("dialog").close();
      return;
    }
    // A menu item that opens a dialog folds its menu away.
    var item = target.closest && target.closest("[data-closes-menu]");
    if (item && item.closest("details")) {
      item.closest("details").open = false;
    }
  });
})();
