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

// Keyboard: "/" jumps to the search box (from another page, to Find orders, whose search box
// takes the focus), except while typing in a field.
(function () {
  var search = document.getElementById("id_q");
  if (search) search.setAttribute("aria-keyshortcuts", "/");
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    var target = event.target;
    if (target.isContentEditable || (target.closest && target.closest("input, textarea, select"))) return;
    var box = document.getElementById("id_q");
    var page = document.querySelector("a[data-search-page]");
    if (!box && !page) return;
    event.preventDefault();
    if (box) {
      box.focus();
      box.select();
    } else {
      window.location.assign(page.href);
    }
  });
})();

// Keyboard: a request disables the Submit button (no double submit), which takes the focus off
// it; when the swap is done, give the focus back to the element that had it, if nothing else has.
(function () {
  var focusedId = null;
  document.addEventListener("htmx:beforeRequest", function () {
    var active = document.activeElement;
    focusedId = active && active !== document.body && active.id ? active.id : null;
  });
  document.addEventListener("htmx:afterSettle", function () {
    var active = document.activeElement;
    if (!focusedId || (active && active !== document.body)) return;
    var again = document.getElementById(focusedId);
    if (again && !again.disabled) again.focus({ preventScroll: true });
    focusedId = null;
  });
})();

// A request that a change started (not a press of a button) only previews. htmx sends the value
// of the form's submit button that has the keyboard focus along with any request of the form:
// without this, a Tab onto "Submit resend" or "Create job" just after a change would submit.
document.addEventListener("htmx:configRequest", function (event) {
  var form = event.detail.elt;
  var trigger = event.detail.triggeringEvent;
  if (form.tagName !== "FORM" || (trigger && trigger.type === "submit")) return;
  form.querySelectorAll("button[name], input[type=submit][name]").forEach(function (button) {
    delete event.detail.parameters[button.name];
  });
});
