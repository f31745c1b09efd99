// Online calls on a chat's settings page: the dialogs HTMX loads into #call-modal.
// Without JavaScript the same links open pages of their own, so nothing here is required.
(function () {
  "use strict";

  function container() {
    return document.getElementById("call-modal");
  }

  function openDialog() {
    var dialog = container() && container().querySelector("dialog");
    if (dialog && !dialog.open) {
      dialog.showModal();
      var first = dialog.querySelector("[aria-invalid='true'], input:not([disabled]), select:not([disabled]), .call-form__buttons .btn");
      if (first) first.focus();
    }
  }

  function closeDialog() {
    var dialog = container() && container().querySelector("dialog");
    if (dialog && dialog.open) dialog.close();
    else if (container()) container().innerHTML = "";
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target === container()) openDialog();
    // The form came back with errors: the first one gets the focus.
    if (event.detail.requestConfig && event.detail.requestConfig.verb === "post") {
      var invalid = document.querySelector("#call-modal [aria-invalid='true']");
      if (invalid) invalid.focus();
    }
  });

  // A closed dialog leaves nothing behind; the next icon loads a fresh one.
  document.addEventListener(
    "close",
    function (event) {
      if (event.target.matches && event.target.matches("#call-modal dialog")) {
        container().innerHTML = "";
      }
    },
    true
  );

  // «Отменить», «Закрыть» and the cross: links back to the chat without JavaScript.
  document.addEventListener("click", function (event) {
    var control = event.target.closest("[data-dialog-close]");
    if (control && control.closest("#call-modal dialog")) {
      event.preventDefault();
      closeDialog();
    }
  });

  // A click on the backdrop closes the dialog, as Escape does.
  document.addEventListener("mousedown", function (event) {
    var dialog = event.target;
    if (dialog.matches && dialog.matches("#call-modal dialog") && dialog.open) {
      var box = dialog.getBoundingClientRect();
      var inside =
        event.clientX >= box.left && event.clientX <= box.right &&
        event.clientY >= box.top && event.clientY <= box.bottom;
      if (!inside) dialog.close();
    }
  });

  document.body.addEventListener("calls-dialog-close", closeDialog);

  // The call vanished or the rights changed in another tab: close, and let the list catch up.
  document.addEventListener("htmx:responseError", function (event) {
    var source = event.detail.elt;
    if (source && source.closest && source.closest("#call-modal")) {
      closeDialog();
      htmx.trigger(document.body, "calls-changed");
    }
  });
})();
