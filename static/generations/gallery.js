/* The gallery: hover (or focus) preview, selection and bulk actions, filters in
   the address bar. Works under a strict Content-Security-Policy; the page works
   without it. */
(function () {
  "use strict";

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $$(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }

  /* ---------- Gallery hover preview ---------- */

  function startPreview(link) {
    var frame = $(".tile-frame", link);
    if (!frame || $("video", frame)) { return; }
    var video = document.createElement("video");
    video.muted = true;
    video.loop = true;
    video.playsInline = true;
    video.preload = "auto";
    video.setAttribute("aria-hidden", "true");
    video.src = link.getAttribute("data-preview");
    frame.appendChild(video);
    var playing = video.play();
    if (playing && playing.catch) { playing.catch(function () {}); }
  }

  function stopPreview(link) {
    var video = $(".tile-frame video", link);
    if (!video) { return; }
    video.pause();
    video.removeAttribute("src");
    video.load();
    video.remove();
  }

  document.addEventListener("pointerover", function (event) {
    var link = event.target.closest && event.target.closest("a[data-preview]");
    if (link && event.pointerType !== "touch") { startPreview(link); }
  });
  document.addEventListener("pointerout", function (event) {
    var link = event.target.closest && event.target.closest("a[data-preview]");
    if (link && !link.contains(event.relatedTarget)) { stopPreview(link); }
  });
  document.addEventListener("focusin", function (event) {
    var link = event.target.closest && event.target.closest("a[data-preview]");
    if (link) { startPreview(link); }
  });
  document.addEventListener("focusout", function (event) {
    var link = event.target.closest && event.target.closest("a[data-preview]");
    if (link) { stopPreview(link); }
  });

  /* ---------- Gallery: selection and bulk actions ---------- */

  function picks() { return $$("#gallery-grid .pick"); }

  function updateSelection() {
    var bar = document.getElementById("bulk-form");
    if (!bar) { return; }
    bar.dataset.enhanced = "1";
    var chosen = picks().filter(function (box) { return box.checked; });
    var count = chosen.length;
    bar.dataset.count = String(count);
    document.body.classList.toggle("is-selecting", count > 0);
    var counter = document.getElementById("selection-count");
    if (counter && counter.textContent !== String(count)) { counter.textContent = String(count); }
    var zipMax = parseInt(bar.dataset.zipMax || "50", 10);
    var bulkMax = parseInt(bar.dataset.bulkMax || "200", 10);
    var note = "";
    if (count > bulkMax) { note = interpolate(ngettext("Select at most %(count)s video for one action.",
      "Select at most %(count)s videos for one action.", bulkMax), { count: bulkMax }, true); }
    else if (count > zipMax) { note = interpolate(ngettext("A zip holds at most %(count)s video: select fewer to download.",
      "A zip holds at most %(count)s videos: select fewer to download.", zipMax), { count: zipMax }, true); }
    var noteNode = document.getElementById("selection-note");
    if (noteNode && noteNode.textContent !== note) { noteNode.textContent = note; }
    var download = document.getElementById("bulk-download");
    if (download) { download.setAttribute("aria-disabled", count > zipMax ? "true" : "false"); }
    var own = chosen.filter(function (box) { return box.dataset.own === "1"; }).length;
    var hide = document.getElementById("bulk-hide");
    if (hide) { hide.setAttribute("aria-disabled", own ? "false" : "true"); }
    $$("[data-select-none]").forEach(function (b) { b.hidden = count === 0; });
    $$("[data-select-page]").forEach(function (b) {
      b.hidden = !picks().length;
      b.textContent = picks().length && count === picks().length ? gettext("Select none") : gettext("Select all shown");
    });
    syncCollectTitle();
  }

  function syncCollectTitle() {
    var select = document.getElementById("bulk-collect-select");
    var title = document.getElementById("bulk-collect-title");
    if (!select || !title) { return; }
    var fresh = !select.value;
    title.hidden = !fresh;
    var label = document.querySelector(".bulk-collect-title-label");
    if (label) { label.hidden = !fresh; }
  }

  document.addEventListener("change", function (event) {
    if (event.target.classList && event.target.classList.contains("pick")) { updateSelection(); }
    if (event.target.id === "bulk-collect-select") { syncCollectTitle(); }
  });

  document.addEventListener("click", function (event) {
    var all = event.target.closest && event.target.closest("[data-select-page]");
    if (all) {
      var boxes = picks();
      var every = boxes.every(function (box) { return box.checked; });
      boxes.forEach(function (box) { box.checked = !every; });
      updateSelection();
      return;
    }
    var none = event.target.closest && event.target.closest("[data-select-none]");
    if (none) {
      picks().forEach(function (box) { box.checked = false; });
      updateSelection();
      return;
    }
    var disabled = event.target.closest && event.target.closest('#bulk-form [aria-disabled="true"]');
    if (disabled) {
      event.preventDefault();
      event.stopPropagation();
      var note = document.getElementById("selection-note");
      if (note && disabled.id === "bulk-hide") { note.textContent = gettext("Only your own videos can be hidden, and none of the selected are yours."); }
    }
  }, true);

  // Enter in a small text field runs that field's own action, never the form's
  // first button (the form's default would be "Favourite" or "Apply preset").
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || event.isComposing) { return; }
    var target = { "bulk-collect-title": "bulk-collect-add" }[event.target.id];
    if (!target) { return; }
    event.preventDefault();
    var button = document.getElementById(target);
    if (button) { button.click(); }
  });

  document.addEventListener("submit", function (event) {
    if (event.target.id !== "bulk-form") { return; }
    // The zip downloads without leaving the page; a refusal comes back here.
    var next = event.target.querySelector('input[name="next"]');
    if (next) { next.value = location.pathname + location.search; }
  });

  // Empty filters stay out of the address bar (the URL is pushed into history).
  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    if (!elt || elt.id !== "gallery-filters") { return; }
    var params = event.detail.parameters;
    Object.keys(params).forEach(function (key) {
      if (params[key] === "" || params[key] === null) { delete params[key]; }
    });
  });

  // Back and forward restore the results from htmx's history; the filter fields
  // are live inputs that a snapshot does not carry, so read them from the URL.
  function syncFiltersFromUrl() {
    var form = document.getElementById("gallery-filters");
    if (!form) { return; }
    var query = new URLSearchParams(location.search);
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!field.name) { return; }
      var value = query.get(field.name);
      if (field.type === "checkbox" || field.type === "radio") {
        field.checked = field.type === "radio" ? (value || "") === field.value : value !== null && value !== "0" && value !== "";
      } else if (field.tagName === "SELECT" || field.tagName === "INPUT") {
        field.value = value || "";
      }
    });
  }
  document.addEventListener("htmx:historyRestore", function () { syncFiltersFromUrl(); updateSelection(); });
  window.addEventListener("popstate", function () { setTimeout(syncFiltersFromUrl, 0); });

  htmx.onLoad(function () { updateSelection(); });
})();
