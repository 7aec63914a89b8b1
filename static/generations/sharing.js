/* Sharing: drag-and-drop ordering of a collection. The arrow buttons (plain forms)
   do the same without JavaScript; this only sends the whole new order at once. */
(function () {
  "use strict";

  var dragged = null;

  function list() { return document.getElementById("collection-items"); }

  function csrfToken() {
    var input = document.querySelector('input[name="csrfmiddlewaretoken"]');
    return input ? input.value : "";
  }

  function renumber(root) {
    var items = root.querySelectorAll(".collection-item");
    items.forEach(function (item, index) {
      var number = item.querySelector(".item-number");
      if (number) { number.textContent = String(index + 1); }
      var up = item.querySelector('input[value="up"] ~ button');
      var down = item.querySelector('input[value="down"] ~ button');
      if (up) { up.disabled = index === 0; }
      if (down) { down.disabled = index === items.length - 1; }
    });
  }

  function saveOrder(root) {
    var body = new URLSearchParams();
    root.querySelectorAll(".collection-item").forEach(function (item) {
      body.append("item", item.getAttribute("data-item"));
    });
    fetch(root.getAttribute("data-order-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "X-Requested-With": "fetch" },
      body: body
    }).then(function (response) {
      if (!response.ok) { window.location.reload(); }
    }, function () { window.location.reload(); });
  }

  document.addEventListener("dragstart", function (event) {
    var item = event.target.closest && event.target.closest(".collection-item");
    if (!item || !list()) { return; }
    dragged = item;
    item.classList.add("is-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", item.getAttribute("data-item"));
  });

  document.addEventListener("dragover", function (event) {
    var target = event.target.closest && event.target.closest(".collection-item");
    if (!dragged || !target || target === dragged) { return; }
    event.preventDefault();
    var box = target.getBoundingClientRect();
    var after = event.clientY > box.top + box.height / 2;
    target.parentNode.insertBefore(dragged, after ? target.nextSibling : target);
  });

  document.addEventListener("drop", function (event) {
    if (dragged) { event.preventDefault(); }
  });

  document.addEventListener("dragend", function () {
    var root = list();
    if (!dragged || !root) { return; }
    dragged.classList.remove("is-dragging");
    dragged = null;
    renumber(root);
    saveOrder(root);
  });
})();

/* Without the clipboard API (plain http on a LAN address), select the new link so
   the member can copy it by hand. */
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest(".new-link .copy-btn");
  if (!button || navigator.clipboard) { return; }
  var source = document.querySelector(button.getAttribute("data-copy-target"));
  if (!source || !window.getSelection) { return; }
  var range = document.createRange();
  range.selectNodeContents(source);
  var selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
});
