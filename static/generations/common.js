/* Seedance Studio, every page: toasts, copy buttons and the keyboard shortcut
   helpers. No inline handlers, no eval: works under a strict
   Content-Security-Policy. Pages work without this file. */
(function () {
  "use strict";

  function $$(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }

  function dismiss(toast) {
    if (!toast || toast.classList.contains("is-leaving")) { return; }
    toast.classList.add("is-leaving");
    setTimeout(function () { toast.remove(); }, 260);
  }

  function initToasts(root) {
    var toasts = root.matches && root.matches(".toast") ? [root] : $$(".toast", root);
    toasts.forEach(function (toast) {
      if (toast.dataset.timed) { return; }
      toast.dataset.timed = "1";
      setTimeout(function () { dismiss(toast); }, toast.classList.contains("toast-error") ? 9000 : 5000);
    });
  }

  // A message the page itself raises (the server's messages arrive as toasts).
  function toast(text, level) {
    var box = document.getElementById("toasts");
    if (!box) { return; }
    var node = document.createElement("div");
    node.className = "toast toast-" + (level || "info");
    var span = document.createElement("span");
    span.textContent = text;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", box.getAttribute("data-dismiss-label") || gettext("Dismiss"));
    close.textContent = "×";
    node.appendChild(span);
    node.appendChild(close);
    box.appendChild(node);
    initToasts(node);
  }

  document.addEventListener("click", function (event) {
    var copy = event.target.closest && event.target.closest("[data-copy-target]");
    if (copy) {
      var source = document.querySelector(copy.getAttribute("data-copy-target"));
      if (source && navigator.clipboard) {
        var label = copy.textContent;
        navigator.clipboard.writeText(source.textContent).then(function () {
          copy.textContent = copy.getAttribute("data-copied-label") || gettext("Copied");
          copy.classList.add("is-copied");
          setTimeout(function () { copy.textContent = label; copy.classList.remove("is-copied"); }, 1800);
        });
      }
      return;
    }
    var close = event.target.closest && event.target.closest(".toast-close");
    if (close) { dismiss(close.closest(".toast")); }
  });

  // A step that cannot be undone asks first (without JavaScript it just runs).
  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  }, true);

  // On a phone the main navigation folds into a menu button.
  function setMenu(button, open) {
    var nav = document.getElementById(button.getAttribute("aria-controls"));
    button.setAttribute("aria-expanded", open ? "true" : "false");
    if (nav) { nav.classList.toggle("is-open", open); }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-nav-toggle]");
    if (button) { setMenu(button, button.getAttribute("aria-expanded") !== "true"); }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var button = document.querySelector('[data-nav-toggle][aria-expanded="true"]');
    if (button) { setMenu(button, false); button.focus(); }
  });

  // Touch screens tap where mice hover: say so in the page's own words.
  function pointerWords(root) {
    var coarse = window.matchMedia && window.matchMedia("(hover: none)").matches;
    $$("[data-touch-text]", root).forEach(function (node) {
      var text = coarse ? node.getAttribute("data-touch-text") : node.getAttribute("data-hover-text");
      if (text && node.textContent !== text) { node.textContent = text; }
    });
  }

  window.Studio = { toast: toast };

  htmx.onLoad(function (root) {
    initToasts(root);
    pointerWords(root);
  });
})();
