// Editing a field's row: progressive enhancement only; the form works without this file.
(function () {
  "use strict";
  var form = document.querySelector("form.edit-form");
  if (!form) { return; }

  // Move focus to what needs attention: an error summary, the conflict notice, or a row just added.
  var target = form.dataset.focus ? document.getElementById(form.dataset.focus)
                                  : document.querySelector(".js-focus-on-load");
  if (target) { target.focus(); }

  // Conflicts: take the stored text over into one's own field (the user then merges and saves).
  document.querySelectorAll(".js-take-theirs").forEach(function (button) {
    var field = document.getElementById(button.dataset.target);
    var source = document.getElementById(button.dataset.source);
    if (!field || !source) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      field.value = source.content ? source.content.textContent : source.textContent;
      field.dispatchEvent(new Event("input", { bubbles: true }));
      field.focus();
    });
  });

  // Text areas grow with what is typed (up to a limit; then they scroll).
  function fit(area) {
    area.style.height = "auto";
    area.style.height = Math.min(area.scrollHeight + 4, window.innerHeight * 0.7) + "px";
  }
  form.querySelectorAll("textarea").forEach(function (area) {
    area.addEventListener("input", function () { fit(area); });
  });

  // Warn before leaving with unsaved changes; not when saving or adding a row.
  var dirty = false;
  form.addEventListener("input", function () { dirty = true; });
  form.addEventListener("change", function () { dirty = true; });
  form.addEventListener("submit", function () { dirty = false; });
  window.addEventListener("beforeunload", function (event) {
    if (dirty) { event.preventDefault(); event.returnValue = ""; }
  });
}());
