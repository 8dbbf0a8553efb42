// Refreshes the page's live part in place once a second (the server
// renders it; nothing else is fetched).
(function () {
  var live = document.getElementById("live");
  if (!live || document.querySelector("form")) return;
  function tick() {
    fetch(location.pathname + "?partial=1", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) {
        if (r.status === 401 || r.status === 403) { location.reload(); return null; }
        return r.ok ? r.text() : null;
      })
      .then(function (html) {
        if (html !== null) {
          live.innerHTML = html;
          document.body.setAttribute("data-updated", String(Date.now()));
        }
      })
      .catch(function () {})
      .then(function () { setTimeout(tick, 1000); });
  }
  setTimeout(tick, 1000);
})();
