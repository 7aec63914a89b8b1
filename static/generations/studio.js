/* The Studio page: the create form and the live task list. Every rule (cost,
   progress, estimates, presets, aspect ratios) is the server's: this file only
   sends what changed and shows what came back. Works under a strict
   Content-Security-Policy; the page works without it. */
(function () {
  "use strict";

  var knownStates = new Map();

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $$(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }
  function within(root, selector) {
    var found = root.matches && root.matches(selector) ? [root] : [];
    return found.concat($$(selector, root));
  }
  function toast(text, level) { if (window.Studio) { window.Studio.toast(text, level); } }
  function createForm() { return document.getElementById("create-form"); }

  /* ---------- Create form: counter, mode, frames ---------- */

  function checkedValue(form, name) {
    var input = form.querySelector('input[name="' + name + '"]:checked');
    return input ? input.value : null;
  }

  function updateCounter(form) {
    var textarea = form.querySelector('textarea[name="prompt"]');
    var counter = $("#prompt-counter", form);
    if (!textarea || !counter) { return; }
    var min = parseInt(counter.getAttribute("data-min"), 10);
    var max = parseInt(counter.getAttribute("data-max"), 10);
    var length = textarea.value.trim().length;
    counter.textContent = length + " / " + max;
    counter.classList.toggle("is-short", length > 0 && length < min);
    counter.classList.toggle("is-over", length > max);
  }

  function updateMode(form) {
    var frames = $("#frames", form);
    if (!frames) { return; }
    var textMode = checkedValue(form, "mode") !== "image-to-video";
    frames.hidden = textMode;
    frames.disabled = textMode; // nothing from a hidden slot is uploaded
  }

  // The aspect ratios the provider knows, with their width/height, from Python.
  function aspectTable() {
    var node = document.getElementById("aspect-table");
    try { return node ? JSON.parse(node.textContent) : { ratios: {}, tolerance: 0 }; } catch (e) { return { ratios: {}, tolerance: 0 }; }
  }

  function showPreview(slot, src, label) {
    var img = $(".frame-preview", slot);
    if (!img) { return; }
    if (img.dataset.objectUrl) { URL.revokeObjectURL(img.dataset.objectUrl); delete img.dataset.objectUrl; }
    if (src) {
      img.src = src;
      img.hidden = false;
    } else {
      img.removeAttribute("src");
      img.hidden = true;
    }
    var form = slot.closest("#create-form");
    if (form) { checkFrameShapes(form); }
    var text = $(".dropzone-label", slot);
    if (text) { text.textContent = src ? (label || text.getAttribute("data-again")) : text.getAttribute("data-empty"); }
  }

  function acceptsFile(input, file) {
    var accepted = (input.getAttribute("accept") || "").split(",").map(function (t) { return t.trim(); });
    return accepted.indexOf(file.type) >= 0;
  }

  function onFileChosen(input) {
    var slot = input.closest(".frame-slot");
    var file = input.files && input.files[0];
    if (!slot) { return; }
    var problem = $("[data-file-problem]", slot);
    if (problem) { problem.hidden = true; }
    if (file && !acceptsFile(input, file)) {
      // Warn now, not at submit, and never show a broken preview.
      input.value = "";
      measureFile(slot, null);
      showPreview(slot, null);
      if (problem) {
        problem.hidden = false;
        problem.textContent = interpolate(
          gettext("%(name)s is not a JPG, PNG or WebP image: choose another file."), { name: file.name }, true);
      }
      return;
    }
    measureFile(slot, file);
    if (!file) { showPreview(slot, null); return; }
    var url = URL.createObjectURL(file);
    showPreview(slot, url, file.name + " · " + ($(".dropzone-label", slot).getAttribute("data-again") || ""));
    $(".frame-preview", slot).dataset.objectUrl = url;
  }

  function onUrlChanged(input) {
    var slot = input.closest(".frame-slot");
    var file = $(".frame-file", slot);
    if (file && file.files && file.files.length) { return; }
    // No preview of a linked frame: loading a member-given address into the page
    // would need img-src https: in the CSP (a channel out for any injection).
    // The server checks the address; the provider fetches it.
    showPreview(slot, null);
  }

  /* Frames whose shape differs from the chosen aspect ratio get cropped: say so,
     and offer the frame's own shape (the "auto" aspect ratio) in one click. */

  function shapeName(width, height) {
    var table = aspectTable();
    var ratio = width / height;
    var names = Object.keys(table.ratios);
    for (var i = 0; i < names.length; i++) {
      if (Math.abs(ratio - table.ratios[names[i]]) / table.ratios[names[i]] <= table.tolerance) { return names[i]; }
    }
    return null;
  }

  function nearestShape(width, height) {
    var table = aspectTable();
    var ratio = width / height;
    return Object.keys(table.ratios).reduce(function (best, name) {
      var off = Math.abs(Math.log(ratio / table.ratios[name]));
      return best === null || off < best[1] ? [name, off] : best;
    }, null);
  }

  function checkFrameShapes(form) {
    var table = aspectTable();
    var chosen = checkedValue(form, "aspect_ratio");
    var target = table.ratios[chosen];
    $$(".frame-slot", form).forEach(function (slot) {
      var img = $(".frame-preview", slot);
      var warning = $("[data-frame-warning]", slot);
      var match = $("[data-match-frame]", slot);
      if (!warning) { return; }
      var text = "";
      var size = frameSize(slot, img);
      var offer = null;
      if (target && size) {
        var width = size[0];
        var height = size[1];
        if (Math.abs(width / height - target) / target > table.tolerance) {
          var shape = shapeName(width, height);
          var facts = { shape: shape, width: width, height: height, chosen: chosen };
          text = shape
            ? interpolate(gettext("This image is %(shape)s (%(width)s×%(height)s) but the video is %(chosen)s: it will be cropped to fit. Choose the %(shape)s shape to keep all of it."), facts, true)
            : interpolate(gettext("This image is %(width)s×%(height)s, not %(chosen)s: it will be cropped to fit the video."), facts, true);
          var nearest = nearestShape(width, height);
          offer = nearest ? nearest[0] : null;
        }
      }
      if (warning.textContent !== text) { warning.textContent = text; }
      if (match) {
        match.hidden = !offer;
        match.dataset.aspect = offer || "";
        if (offer) { match.textContent = interpolate(gettext("Use the frame's shape (%(shape)s)"), { shape: offer }, true); }
      }
    });
  }

  // A chosen file is measured by decoding it (a blob: preview may be blocked by
  // the Content-Security-Policy); a kept frame by its loaded preview.
  function frameSize(slot, img) {
    if (slot.dataset.width && slot.dataset.height) {
      return [parseInt(slot.dataset.width, 10), parseInt(slot.dataset.height, 10)];
    }
    if (img && !img.hidden && img.complete && img.naturalWidth && img.naturalHeight) {
      return [img.naturalWidth, img.naturalHeight];
    }
    return null;
  }

  function measureFile(slot, file) {
    delete slot.dataset.width;
    delete slot.dataset.height;
    if (!file || !window.createImageBitmap) { return; }
    createImageBitmap(file).then(function (bitmap) {
      slot.dataset.width = String(bitmap.width);
      slot.dataset.height = String(bitmap.height);
      if (bitmap.close) { bitmap.close(); }
      var form = slot.closest("#create-form");
      if (form) { checkFrameShapes(form); }
    }).catch(function () { /* not an image the browser can decode */ });
  }

  document.addEventListener("load", function (event) {
    var img = event.target;
    if (img && img.classList && img.classList.contains("frame-preview")) {
      var form = img.closest("#create-form");
      if (form) { checkFrameShapes(form); }
    }
  }, true);

  // A refused form: the first problem comes into view with the focus on it.
  function showFirstError(form) {
    var field = $('[aria-invalid="true"]', form);
    var message = field ? null : $(".field-error, #form-errors", form);
    var target = field || message;
    if (!target) { return; }
    var box = target.closest(".frame-slot, .field") || target;
    box.scrollIntoView({ block: "center" });
    if (field) {
      field.focus({ preventScroll: true });
    } else {
      message.setAttribute("tabindex", "-1");
      message.focus({ preventScroll: true });
    }
  }

  function initForm(form) {
    if (form.dataset.enhanced) { return; }
    form.dataset.enhanced = "1";
    updateCounter(form);
    updateMode(form);
    checkFrameShapes(form);
    $$(".dropzone", form).forEach(function (zone) {
      var input = document.getElementById(zone.getAttribute("for"));
      zone.addEventListener("dragover", function (event) { event.preventDefault(); zone.classList.add("is-dragover"); });
      zone.addEventListener("dragleave", function () { zone.classList.remove("is-dragover"); });
      zone.addEventListener("drop", function (event) {
        event.preventDefault();
        zone.classList.remove("is-dragover");
        if (input && event.dataTransfer && event.dataTransfer.files.length) {
          input.files = event.dataTransfer.files;
          onFileChosen(input);
        }
      });
    });
    if (form.hasAttribute("data-refused")) { showFirstError(form); }
  }

  document.addEventListener("input", function (event) {
    var form = event.target.closest && event.target.closest("#create-form");
    if (!form) { return; }
    if (event.target.name === "prompt") { updateCounter(form); }
    if (event.target.classList.contains("frame-url")) { onUrlChanged(event.target); }
  });

  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("#create-form");
    if (!form) { return; }
    if (event.target.name === "mode") { updateMode(form); }
    if (event.target.classList.contains("frame-file")) { onFileChosen(event.target); }
    if (event.target.name === "aspect_ratio") { checkFrameShapes(form); }
  });

  document.addEventListener("click", function (event) {
    var match = event.target.closest && event.target.closest("[data-match-frame]");
    if (!match || !match.dataset.aspect) { return; }
    var form = match.closest("#create-form");
    var radio = form && form.querySelector('input[name="aspect_ratio"][value="' + match.dataset.aspect + '"]');
    if (!radio) { return; }
    radio.checked = true;
    radio.dispatchEvent(new Event("change", { bubbles: true }));
  });

  // Ctrl+Enter (Cmd+Enter on a Mac) generates from anywhere in the form.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey) || event.isComposing) { return; }
    var form = event.target.closest && event.target.closest("#create-form");
    if (!form) { return; }
    event.preventDefault();
    var button = $('button[type="submit"]', form);
    if (button && !button.disabled) { form.requestSubmit(button); }
  });

  /* ---------- Task cards: title, dedupe, notifications ---------- */

  function updateTitle() {
    var live = document.getElementById("task-live");
    if (!live) { return; }
    var running = parseInt(live.getAttribute("data-running") || "0", 10);
    var title = live.getAttribute("data-title");
    document.title = running > 0
      ? interpolate(ngettext("(%(count)s running)", "(%(count)s running)", running), { count: running }, true) + " " + title
      : title;
  }

  function dedupeCards() {
    // A poll and a submit can both deliver the same new card: keep the first.
    var seen = {};
    $$("#task-cards > li[id]").forEach(function (card) {
      if (seen[card.id]) { card.remove(); } else { seen[card.id] = true; }
    });
  }

  function notifyFinished(card) {
    var previous = knownStates.get(card.id);
    var state = card.dataset.state;
    knownStates.set(card.id, state);
    if (!previous || previous === state || !card.dataset.notifyTitle) { return; }
    if (!("Notification" in window) || Notification.permission !== "granted") { return; }
    // A member looking at the page sees the card change; notify the others.
    if (!document.hidden && document.hasFocus()) { return; }
    var prompt = ($(".card-prompt", card) || {}).textContent || "";
    try {
      var note = new Notification(card.dataset.notifyTitle, {
        body: prompt.trim().slice(0, 120),
        icon: document.body.getAttribute("data-icon"),
        tag: card.id
      });
      note.onclick = function () { window.focus(); card.scrollIntoView({ block: "center" }); note.close(); };
    } catch (e) { /* some mobile browsers only notify from a service worker */ }
  }

  // The button lives in the list header, which every poll replaces: whether to
  // show it is a class on <html> (no flicker), and its click is delegated.
  function updateNotifyOffer() {
    var supported = "Notification" in window;
    document.documentElement.classList.toggle("can-notify", supported && Notification.permission === "default");
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("#notify-btn");
    if (!button || !("Notification" in window)) { return; }
    var asked = Notification.requestPermission(updateNotifyOffer);
    if (asked && asked.then) { asked.then(updateNotifyOffer); }
  });

  /* ---------- Remix without losing a draft ---------- */

  // Remix (and the other links in the task list) load the Studio again. When the
  // form holds something the member typed or changed, the link opens in a new
  // tab instead, so the draft stays where it is. No dialog to answer.
  function formIsDirty(form) {
    if (!form) { return false; }
    return Array.prototype.some.call(form.elements, function (field) {
      if (!field.name || field.type === "hidden" || field.disabled) { return false; }
      if (field.type === "checkbox" || field.type === "radio") { return field.checked !== field.defaultChecked; }
      if (field.type === "file") { return field.files && field.files.length > 0; }
      if (field.tagName === "SELECT") {
        return Array.prototype.some.call(field.options, function (o) { return o.selected !== o.defaultSelected; });
      }
      return field.value !== field.defaultValue;
    });
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("#task-cards a[href], a.remix-link");
    if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) { return; }
    if (!formIsDirty(createForm())) {
      if (link.dataset.draftTab) { link.removeAttribute("target"); delete link.dataset.draftTab; }
      return;
    }
    link.target = "_blank";
    link.rel = "noopener";
    link.dataset.draftTab = "1";
    toast(document.getElementById("task-cards").getAttribute("data-new-tab-text"), "info");
  });

  /* ---------- Presets (applied by the server: see the select's hx-get) ---------- */

  function syncPresetBar() {
    var select = document.getElementById("preset-select");
    var remove = document.getElementById("preset-delete");
    if (select && remove) { remove.disabled = !select.value; }
  }

  document.addEventListener("change", function (event) {
    if (event.target.id === "preset-select") { syncPresetBar(); }
  });

  document.addEventListener("submit", function (event) {
    // With JavaScript a preset applies on choice; never reload the page for it.
    if (event.target.id === "preset-bar") { event.preventDefault(); }
  });

  // Enter in the preset name saves it, never the bar's first button.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || event.isComposing || event.target.id !== "preset-name") { return; }
    event.preventDefault();
    var button = document.getElementById("preset-save");
    if (button) { button.click(); }
  });

  /* ---------- The queue panel: a job that left the queue leaves it too ---------- */

  function pruneQueue(card) {
    if (card.getAttribute("data-state") === "queued") { return; }
    var row = document.getElementById("queue-" + card.id.replace("task-", ""));
    if (!row) { return; }
    var panel = row.closest(".queue-panel");
    row.remove();
    if (panel && !panel.querySelector(".queue-row")) { panel.remove(); }
  }

  /* ---------- The live poll tells what this page shows in flight ---------- */

  // "12.queued,13.generating", newest first: the server re-sends any of these
  // whose state moved, however late its change was committed.
  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    if (!elt || elt.id !== "task-live") { return; }
    var watch = $$('#task-cards > .task-card[data-in-flight="1"]').map(function (card) {
      return card.id.replace("task-", "") + "." + card.getAttribute("data-state");
    });
    if (watch.length) { event.detail.parameters.watch = watch.join(","); }
  });

  /* ---------- Wiring: only what was swapped in ---------- */

  htmx.onLoad(function (root) {
    within(root, "#create-form").forEach(initForm);
    var cards = within(root, ".task-card");
    if (cards.length || within(root, ".batch-head").length) { dedupeCards(); }
    cards.forEach(notifyFinished);
    cards.forEach(pruneQueue);
    if (within(root, "#task-live").length) { updateTitle(); }
    if (within(root, "#preset-bar").length) { syncPresetBar(); }
    updateNotifyOffer();
  });
})();
