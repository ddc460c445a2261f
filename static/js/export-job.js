/* "wird erstellt …" (templates/exports/job.html): without this script the page reloads itself through a
   meta refresh in <noscript>. With it, the page stays put, asks the job's status address every few seconds,
   updates the progress bar and the live region (announced politely, only when its text changes), and opens
   the PDF once the job is done; a failed job reloads the page, which then explains and offers a retry. */
(function () {
  "use strict";
  var box = document.querySelector("[data-export-job]");
  if (!box) { return; }
  var statusUrl = box.getAttribute("data-export-job");
  var every = Math.max(1, parseInt(box.getAttribute("data-refresh"), 10) || 3) * 1000;
  var bar = document.getElementById("export-progress");
  var message = document.getElementById("export-message");

  function show(data) {
    if (data.percent === null || data.percent === undefined) { bar.removeAttribute("value"); }
    else { bar.value = data.percent; }
    if (message.textContent.trim() !== data.message) { message.textContent = data.message; }
  }

  function poll() {
    fetch(statusUrl, {headers: {"Accept": "application/json"}, credentials: "same-origin", cache: "no-store"})
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (data) {
        show(data);
        if (data.done_url) { window.location.assign(data.done_url); return; }
        if (data.state === "failed") { window.location.reload(); return; }
        window.setTimeout(poll, every);
      })
      .catch(function () { window.setTimeout(poll, every * 2); });
  }

  window.setTimeout(poll, every);
}());
