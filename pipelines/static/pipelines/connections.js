// The datasets page's "Add a connection" form: POST /api/connections/ and reload, or show the refusal.
(function () {
  "use strict";
  var form = document.getElementById("connection-form");
  if (!form) return;
  var error = form.querySelector(".conn-error");
  var button = form.querySelector("button[type=submit]");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var body = {};
    // Fields are named connection_<field>, apart from the upload form's on the same page.
    function field(k) { return form.elements["connection_" + k]; }
    ["name", "host", "database", "user", "password"].forEach(function (k) { body[k] = field(k).value; });
    body.port = Number(field("port").value || 5432);
    body.test = field("test").checked;
    if (field("workspace")) body.workspace = Number(field("workspace").value);
    var missing = ["name", "host", "database", "user"].filter(function (k) { return !body[k].trim(); });
    if (missing.length) {
      error.textContent = "Fill in " + missing.join(", ") + ".";
      error.hidden = false;
      return;
    }
    button.disabled = true;
    button.textContent = body.test ? "Connecting…" : "Saving…";
    fetch("/api/connections/", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": form.dataset.csrf },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (b) { return { ok: r.ok, body: b || {} }; },
        function () { return { ok: false, body: { detail: "unexpected answer from the server (HTTP " + r.status + ")" } }; });
    }, function () {
      return { ok: false, body: { detail: "cannot reach the server; check your connection" } };
    }).then(function (answer) {
      if (answer.ok) { window.location.hash = "connections"; window.location.reload(); return; }
      var detail = answer.body.detail || "The connection was not saved.";
      if (answer.body.field && detail.indexOf(answer.body.field) === -1) detail = answer.body.field + ": " + detail;
      error.textContent = detail;
      error.hidden = false;
      button.disabled = false;
      button.textContent = "Save connection";
    });
  });
})();
