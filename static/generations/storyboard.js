/* Storyboards: drag-and-drop ordering of shots, the preview that plays the chosen
   takes in sequence, and "Use this frame" on a video's page. No rule lives here:
   the arrow buttons (plain forms) move shots without JavaScript, the server
   decides everything, and a form without JavaScript uses the last frame. */
(function () {
  "use strict";

  var dragged = null;

  function csrfToken() {
    var input = document.querySelector('input[name="csrfmiddlewaretoken"]');
    return input ? input.value : "";
  }

  function shotList() { return document.querySelector(".shot-list"); }

  function saveOrder() {
    var live = document.getElementById("board-live");
    var list = shotList();
    if (!live || !list) { return; }
    var body = new URLSearchParams();
    list.querySelectorAll("[data-shot]").forEach(function (item) {
      body.append("shot", item.getAttribute("data-shot"));
    });
    fetch(live.getAttribute("data-reorder-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "HX-Request": "true" },
      body: body
    }).then(function (response) {
      if (!response.ok) { window.location.reload(); return null; }
      return response.text();
    }).then(function (html) {
      if (html === null) { return; }
      var current = document.getElementById("board-live");
      if (!current) { return; }
      var holder = document.createElement("div");
      holder.innerHTML = html;
      var fresh = holder.querySelector("#board-live");
      if (fresh) {
        current.replaceWith(fresh);
        if (window.htmx) { window.htmx.process(fresh); }
      }
    }, function () { window.location.reload(); });
  }

  document.addEventListener("dragstart", function (event) {
    var item = event.target.closest && event.target.closest("[data-shot]");
    if (!item) { return; }
    dragged = item;
    event.dataTransfer.effectAllowed = "move";
    item.classList.add("dragging");
  });

  document.addEventListener("dragover", function (event) {
    var item = event.target.closest && event.target.closest("[data-shot]");
    if (!dragged || !item || item === dragged) { return; }
    event.preventDefault();
    var box = item.getBoundingClientRect();
    var after = event.clientY > box.top + box.height / 2;
    item.parentNode.insertBefore(dragged, after ? item.nextSibling : item);
  });

  document.addEventListener("dragend", function () {
    if (!dragged) { return; }
    dragged.classList.remove("dragging");
    dragged = null;
    saveOrder();
  });

  /* The preview: one <video> that moves on to the next chosen take when one ends. */
  document.addEventListener("ended", function (event) {
    var player = event.target;
    if (!player.matches || !player.matches("video[data-sequence]")) { return; }
    var sources = player.getAttribute("data-sequence").split(" ");
    var index = Number(player.getAttribute("data-index") || "0") + 1;
    if (index >= sources.length) { player.setAttribute("data-index", "0"); return; }
    player.setAttribute("data-index", String(index));
    player.src = sources[index];
    player.play();
  }, true);

  /* "Use this frame": send the player's current time with the form. */
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-frame-form]")) { return; }
    var player = document.querySelector(form.getAttribute("data-frame-form"));
    var at = form.querySelector('input[name="at"]');
    if (player && at) { at.value = String(player.currentTime || 0); }
  });
})();
