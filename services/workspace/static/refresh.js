// Keeps a part of the page fresh without a reload: every data-refresh seconds, the element's
// data-source is fetched (same origin, with the session cookie) and put in place.
// Without JavaScript, the page's <noscript> meta refresh reloads it instead.
(function () {
  "use strict";
  document.querySelectorAll("[data-refresh][data-source]").forEach(function (box) {
    var seconds = parseInt(box.getAttribute("data-refresh"), 10) || 30;
    function update() {
      if (document.hidden || box.contains(document.activeElement)) { return; }
      fetch(box.getAttribute("data-source"), { credentials: "same-origin", redirect: "error" })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) { box.innerHTML = html; box.setAttribute("data-updated", Date.now()); })
        .catch(function () { /* keep what is shown; the next round tries again */ });
    }
    setInterval(update, seconds * 1000);
  });
})();
