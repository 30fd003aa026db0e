// Copy buttons: <button type="button" data-copy="text" aria-label="Copy …">, followed by a
// live region (role=status) that says "Copied" (or how to copy by hand when the browser refuses).
(function () {
  function byHand(text) {
    // Older browsers and pages not served over a secure origin have no navigator.clipboard.
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "sr-only";
    document.body.appendChild(area);
    area.select();
    var done = false;
    try {
      done = document.execCommand("copy");
    } catch (error) {
      done = false;
    }
    document.body.removeChild(area);
    return done ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function say(button, text) {
    var status = button.nextElementSibling;
    if (!status || !status.classList.contains("copy-status")) return;
    status.textContent = text;
    window.clearTimeout(button.copyTimer);
    button.copyTimer = window.setTimeout(function () { status.textContent = ""; }, 4000);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button[data-copy]") : null;
    if (!button) return;
    event.preventDefault();
    var text = button.getAttribute("data-copy");
    var copying = navigator.clipboard && window.isSecureContext
      ? navigator.clipboard.writeText(text).catch(function () { return byHand(text); })
      : byHand(text);
    copying.then(
      function () { say(button, "Copied"); },
      function () { say(button, "Could not copy; select the text and copy it by hand."); }
    );
  });
})();
