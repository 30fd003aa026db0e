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
