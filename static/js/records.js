/* Records on the field page (next steps, financing, indicators): without this script every form posts and
   the page reloads at the changed entry. With it, the form is sent in the background and only the changed
   regions of the page (and the status messages) are replaced, so the reader keeps their place. */
(function () {
  "use strict";
  var REGION = "[data-records-region]";

  function replaceFlashes(doc) {
    var main = document.getElementById("main");
    var old = main && main.querySelector(":scope > .flashes");
    var fresh = doc.querySelector("#main > .flashes");
    if (old) { old.remove(); }
    if (fresh && main) { main.insertBefore(document.importNode(fresh, true), main.firstChild); }
    return fresh;
  }

  function replaceRegions(doc) {
    var replaced = [];
    document.querySelectorAll(REGION).forEach(function (region) {
      var fresh = region.id && doc.getElementById(region.id);
      if (fresh) {
        var node = document.importNode(fresh, true);
        region.replaceWith(node);
        replaced.push(node);
      }
    });
    return replaced;
  }

  function focusAfter(anchor, pressed) {
    var invalid = document.querySelector(REGION + ' [aria-invalid="true"]');
    if (invalid) { invalid.focus(); return; }
    var conflict = document.querySelector(REGION + " .conflict");
    if (conflict) { conflict.setAttribute("tabindex", "-1"); conflict.focus(); return; }
    // A changed entry keeps the focus where the reader was (moved, closed, saved); a new one is announced.
    var record = anchor && !/-neu$/.test(anchor) && document.getElementById(anchor);
    if (record) {
      // The same button again (e.g. "nach oben" to move further), else the entry itself.
      var again = pressed && Array.prototype.find.call(record.querySelectorAll(".record__actions button"),
        function (b) { return b.name === pressed.name && b.value === pressed.value && !b.disabled; });
      if (again) { again.focus(); return; }
      record.setAttribute("tabindex", "-1");
      record.focus();
      return;
    }
    var message = document.querySelector("#main > .flashes");
    if (message) { message.setAttribute("tabindex", "-1"); message.focus({ preventScroll: true }); }
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-records") || !window.fetch) { return; }
    event.preventDefault();
    var body = new FormData(form, event.submitter || undefined);
    var anchor = form.getAttribute("action").split("#")[1] || "";
    var pressed = event.submitter && event.submitter.name ? { name: event.submitter.name, value: event.submitter.value } : null;
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    form.setAttribute("aria-busy", "true");
    fetch(form.action, {
      method: "POST", body: body, credentials: "same-origin", headers: { "X-Requested-With": "fetch" }
    }).then(function (response) {
      return response.text().then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        if (!doc.querySelector(REGION)) {
          // Not a field page (an error page, a login page): show it as it is.
          document.documentElement.replaceWith(document.importNode(doc.documentElement, true));
          return;
        }
        replaceFlashes(doc);
        replaceRegions(doc);
        focusAfter(anchor, pressed);
      });
    }).catch(function () {
      // The network failed: fall back to an ordinary submission so nothing typed is lost.
      form.removeAttribute("data-records");
      form.submit();
    });
  });
})();
