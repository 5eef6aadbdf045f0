// Passkeys in the console: "Sign in with a passkey" on the sign-in screen, "Add a
// passkey" on the passkeys screen. Progressive: without WebAuthn nothing is shown.
// Options and answers travel as JSON (parse...FromJSON / toJSON, WebAuthn Level 3).
(function () {
  "use strict";
  var supported = window.PublicKeyCredential &&
    PublicKeyCredential.parseCreationOptionsFromJSON &&
    PublicKeyCredential.parseRequestOptionsFromJSON;

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-Calisera-CSRF": "1" },
      body: JSON.stringify(body || {})
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) { throw new Error(data.detail || "The request failed (" + r.status + ")."); }
        return data;
      });
    });
  }

  function say(node, text) { if (node) { node.textContent = text; node.hidden = !text; } }

  function signIn(slot) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button";
    button.id = "passkey-sign-in";
    button.textContent = "Sign in with a passkey";
    var status = document.createElement("p");
    status.className = "form-alert";
    status.setAttribute("role", "alert");
    status.hidden = true;
    slot.appendChild(button);
    slot.appendChild(status);
    button.addEventListener("click", function () {
      button.disabled = true;
      say(status, "");
      post("/auth/passkeys/sign-in/options").then(function (start) {
        var publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(start.public_key);
        return navigator.credentials.get({ publicKey: publicKey }).then(function (credential) {
          return post("/auth/passkeys/sign-in", {
            challenge_id: start.challenge_id,
            credential: credential.toJSON(),
            return_to: "/console"
          });
        });
      }).then(function (done) {
        window.location.assign(done.redirect_to);
      }).catch(function (error) {
        button.disabled = false;
        say(status, error.name === "NotAllowedError" ? "No passkey was used." : error.message);
      });
    });
  }

  function register(form) {
    var status = document.getElementById("passkey-status");
    form.hidden = false;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var name = form.elements.namedItem("name").value.trim();
      if (!name) { say(status, "Give the passkey a name, e.g. Phone."); return; }
      var submit = form.querySelector("button[type=submit]");
      submit.disabled = true;
      say(status, "");
      post("/bff/api/users/me/passkey-options").then(function (start) {
        var publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(start.public_key);
        return navigator.credentials.create({ publicKey: publicKey }).then(function (credential) {
          return post("/bff/api/users/me/passkeys", {
            challenge_id: start.challenge_id,
            name: name,
            credential: credential.toJSON()
          });
        });
      }).then(function () {
        window.location.reload();
      }).catch(function (error) {
        submit.disabled = false;
        say(status, error.name === "NotAllowedError" ? "No passkey was created." : error.message);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!supported) { return; }
    var slot = document.getElementById("passkey-slot");
    if (slot) { signIn(slot); }
    var form = document.getElementById("passkey-add");
    if (form) { register(form); }
    var none = document.getElementById("passkey-unsupported");
    if (none) { none.hidden = true; }
  });
})();
