// つながり 管理画面: the only script.  Everything works without it; it
// refreshes the live numbers of a page (Today, a notice's progress) by
// fetching the same server-rendered fragment the page was built with.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var live = document.getElementById("live");
  if (!live) return;
  var url = live.getAttribute("data-live-url");
  var seconds = parseFloat(live.getAttribute("data-live-interval") || "10");
  var hints = document.querySelectorAll(".js-only-hide");
  for (var i = 0; i < hints.length; i++) hints[i].hidden = true;
  var timer = null;
  function done() { return live.querySelector("[data-live-done]") !== null; }
  function refresh() {
    if (document.hidden) { schedule(); return; }
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (!response.ok) throw new Error("status " + response.status);
        return response.text();
      })
      .then(function (html) {
        // Keep keyboard focus where it was when the fragment is replaced.
        var focused = document.activeElement && live.contains(document.activeElement) ? document.activeElement.id : null;
        live.innerHTML = html;
        if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
        live.setAttribute("data-live-updates", String(parseInt(live.getAttribute("data-live-updates") || "0", 10) + 1));
      })
      .catch(function () { /* try again at the next tick */ })
      .then(schedule);
  }
  function schedule() {
    if (done()) return;
    timer = window.setTimeout(refresh, seconds * 1000);
  }
  schedule();
})();
