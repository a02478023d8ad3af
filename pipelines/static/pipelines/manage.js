// Rename, duplicate and delete from the server-rendered lists and pages.
//
// A button <button data-manage="rename|duplicate|delete" data-url="/api/…/{id}/"
// data-name="…"> opens the page's one <dialog id="manage-dialog">; the dialog
// calls the JSON API (session + CSRF) and shows the server's message when it
// refuses (a taken name, a dataset still in use …). Optional attributes:
// data-version (a pipeline's version, sent with a rename), data-kind ("pipeline",
// "dataset"), data-note (a sentence under the title), data-next (where to go
// afterwards; "{id}" is the new object's id; default: reload this page).
(function () {
  "use strict";
  var dialog = document.getElementById("manage-dialog");
  if (!dialog) return;
  var form = dialog.querySelector("form");
  var title = dialog.querySelector(".manage-title");
  var note = dialog.querySelector(".manage-note");
  var field = dialog.querySelector(".manage-field");
  var input = field.querySelector("input");
  var error = dialog.querySelector(".manage-error");
  var confirm = dialog.querySelector(".manage-confirm");
  var action = null;

  function api(method, url, body) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": dialog.dataset.csrf },
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (r) {
      if (r.status === 204) return { ok: true, body: {} };
      return r.json().then(
        function (b) { return { ok: r.ok, body: b || {} }; },
        function () { return { ok: false, body: { detail: "unexpected answer from the server (HTTP " + r.status + ")" } }; }
      );
    }, function () {
      return { ok: false, body: { detail: "cannot reach the server; check your connection" } };
    });
  }

  function go(button, body) {
    var next = button.dataset.next;
    if (next) window.location.assign(next.replace("{id}", String(body.id)));
    else window.location.reload();
  }

  var ACTIONS = {
    rename: function (b) {
      return {
        title: "Rename " + (b.dataset.kind || "") + " \u201c" + b.dataset.name + "\u201d",
        confirm: "Rename", danger: false, name: b.dataset.name, placeholder: "new name",
        send: function (name) {
          var body = { name: name };
          if (b.dataset.version) body.version = Number(b.dataset.version);
          return api("PATCH", b.dataset.url, body);
        }
      };
    },
    duplicate: function (b) {
      return {
        title: "Duplicate " + (b.dataset.kind || "") + " \u201c" + b.dataset.name + "\u201d",
        confirm: "Duplicate", danger: false, name: "", placeholder: b.dataset.name + " (copy)",
        send: function (name) { return api("POST", b.dataset.url + "duplicate/", name ? { name: name } : {}); }
      };
    },
    "delete": function (b) {
      return {
        title: "Delete " + (b.dataset.kind || "") + " \u201c" + b.dataset.name + "\u201d?",
        confirm: "Delete", danger: true, name: null,
        send: function () { return api("DELETE", b.dataset.url); }
      };
    }
  };

  function open(button) {
    var make = ACTIONS[button.dataset.manage];
    if (!make) return;
    action = make(button);
    action.button = button;
    title.textContent = action.title;
    note.textContent = button.dataset.note || "";
    note.hidden = !button.dataset.note;
    field.hidden = action.name === null;
    input.value = action.name || "";
    input.placeholder = action.placeholder || "";
    error.hidden = true;
    error.textContent = "";
    confirm.textContent = action.confirm;
    confirm.className = "btn manage-confirm " + (action.danger ? "btn-danger" : "btn-primary");
    confirm.disabled = false;
    dialog.showModal();
    if (!field.hidden) { input.focus(); input.select(); } else { confirm.focus(); }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-manage]");
    if (!button) return;
    event.preventDefault();
    var menu = button.closest("details");
    if (menu) menu.open = false;
    open(button);
  });
  dialog.querySelector("[data-manage-cancel]").addEventListener("click", function () { dialog.close(); });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!action || confirm.disabled) return;
    var name = input.value.trim();
    if (action.name !== null && action.placeholder === "new name" && !name) {
      error.textContent = "Type a name.";
      error.hidden = false;
      return;
    }
    confirm.disabled = true;
    var current = action;
    current.send(name).then(function (answer) {
      if (answer.ok) { go(current.button, answer.body); return; }
      error.textContent = answer.body.detail || "The server refused the change.";
      error.hidden = false;
      confirm.disabled = false;
    });
  });
})();
