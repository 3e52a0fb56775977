// hpcbridge web pages: live updates over the service's own event streams. The pages work without this
// file (reload to see changes); with it, a page refreshes its main content when one of its jobs changes
// state, and a job's log follows new lines as they are written. No inline script: the pages' CSP allows
// only this file.
"use strict";

(function () {
  function refreshMain() {
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("main");
        var main = document.getElementById("main");
        if (!fresh || !main) { return; }
        // Keep what the reader opened or typed: open <details>, the followed log, and focus.
        var open = Array.prototype.map.call(main.querySelectorAll("details[open]"), function (d) { return d.id || d.textContent.slice(0, 40); });
        var log = document.getElementById("log");
        var active = document.activeElement && document.activeElement.id;
        var freshLog = fresh.querySelector("#log");
        if (log && freshLog && log.dataset.following === "yes") { freshLog.replaceWith(log); }
        main.replaceChildren.apply(main, Array.prototype.slice.call(fresh.childNodes));
        Array.prototype.forEach.call(main.querySelectorAll("details"), function (d) {
          if (open.indexOf(d.id || d.textContent.slice(0, 40)) >= 0) { d.open = true; }
        });
        if (active) { var again = document.getElementById(active); if (again) { again.focus(); } }
        main.dataset.refreshedAt = new Date().toISOString();
      })
      .catch(function () { /* the next event tries again */ });
  }

  function followEvents(main) {
    var url = main.getAttribute("data-live");
    if (!url || !window.EventSource) { return; }
    var pending = null;
    var source = new EventSource(url);
    source.addEventListener("transition", function () {
      if (pending) { return; }
      pending = window.setTimeout(function () { pending = null; refreshMain(); }, 400);
    });
  }

  function followLog(log) {
    var url = log.getAttribute("data-stream");
    if (!url || !window.EventSource) { return; }
    var lines = [];
    var maximum = 2000;
    var source = new EventSource(url);
    log.dataset.following = "yes";
    function append(stream, text) {
      lines.push((stream === "stderr" ? "[stderr] " : "") + text);
      if (lines.length > maximum) { lines.splice(0, lines.length - maximum); }
      log.textContent = lines.join("\n");
      log.scrollTop = log.scrollHeight;
    }
    ["stdout", "stderr"].forEach(function (stream) {
      source.addEventListener(stream, function (event) {
        try { append(stream, JSON.parse(event.data)); } catch (e) { append(stream, event.data); }
      });
    });
    source.addEventListener("end", function () { source.close(); log.dataset.following = "ended"; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var main = document.getElementById("main");
    if (main) { followEvents(main); }
    var log = document.getElementById("log");
    if (log) { followLog(log); }
    // A refused form: the summary of what to fix takes the focus, so a screen reader starts there.
    var errors = document.getElementById("form-errors");
    if (errors) { errors.focus(); }
  });
})();
