// bebpo-gateway: small progressive enhancement. Every page works without it.
"use strict";
(function () {
  // Live state of a message: poll until it reaches a final state.
  var state = document.querySelector("[data-poll]");
  if (state && window.fetch) {
    var url = state.getAttribute("data-poll");
    var timer = window.setInterval(function () {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (!s) { return; }
          if (state.textContent !== s.label) {
            state.textContent = s.label;
            state.className = "zustand zustand-" + s.state;
          }
          if (s.final) {
            window.clearInterval(timer);
            window.location.reload();
          }
        })
        .catch(function () {});
    }, 5000);
  }

  // Documents by drag and drop onto the drop area of the send form.
  var zone = document.getElementById("ablage");
  var input = document.getElementById("dokumente");
  var list = document.getElementById("dateiliste");
  function show() {
    if (!list || !input) { return; }
    while (list.firstChild) { list.removeChild(list.firstChild); }
    for (var i = 0; i < input.files.length; i++) {
      var li = document.createElement("li");
      li.textContent = input.files[i].name;
      list.appendChild(li);
    }
  }
  if (zone && input) {
    input.addEventListener("change", show);
    zone.addEventListener("dragover", function (e) { e.preventDefault(); zone.classList.add("ziehen"); });
    zone.addEventListener("dragleave", function () { zone.classList.remove("ziehen"); });
    zone.addEventListener("drop", function (e) {
      e.preventDefault();
      zone.classList.remove("ziehen");
      if (e.dataTransfer && e.dataTransfer.files.length) {
        input.files = e.dataTransfer.files;
        show();
      }
    });
  }
})();
