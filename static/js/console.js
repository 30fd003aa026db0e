// Say so when an HTMX request fails, instead of leaving the page silently unchanged.
(function () {
  function show(text) {
    var box = document.getElementById("request-error");
    if (!box) return;
    box.textContent = text;
    box.hidden = false;
  }
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    var text = status === 403
      ? "You are not allowed to do that, or your session has expired: reload the page and sign in again."
      : "The server could not answer (" + status + "). Nothing was sent; try again in a moment.";
    show(text);
  });
  document.addEventListener("htmx:sendError", function () {
    show("The server cannot be reached. Check the connection and try again; nothing was sent.");
  });
  document.addEventListener("htmx:beforeRequest", function () {
    var box = document.getElementById("request-error");
    if (box) box.hidden = true;
  });
})();

// The live status panel is replaced every few seconds: keep open whatever the reader opened.
(function () {
  var open = [];
  document.addEventListener("htmx:beforeSwap", function () {
    open = Array.prototype.map.call(document.querySelectorAll("details[open][id]"), function (d) { return d.id; });
  });
  document.addEventListener("htmx:afterSwap", function () {
    open.forEach(function (id) {
      var details = document.getElementById(id);
      if (details) details.open = true;
    });
  });
})();
