// Admin pages: copy a one-time link to the clipboard. Without JavaScript the link stays selectable.
(function () {
  "use strict";
  document.querySelectorAll("[data-copy-target]").forEach(function (button) {
    var input = document.getElementById(button.getAttribute("data-copy-target"));
    var status = document.querySelector("[data-copy-status]");
    if (!input || !navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(input.value).then(function () {
        if (status) { status.textContent = status.getAttribute("data-copied-text"); }
      }, function () {
        input.select();
        if (status) { status.textContent = status.getAttribute("data-failed-text"); }
      });
    });
  });
  document.querySelectorAll("[data-copy-source]").forEach(function (input) {
    input.addEventListener("focus", function () { input.select(); });
  });
})();
