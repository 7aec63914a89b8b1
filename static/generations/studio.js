/* Seedance Studio: progressive enhancement for the create form, live task cards,
   the gallery and the detail page. No inline handlers, no eval: works under a
   strict Content-Security-Policy. Every page also works without this file. */
(function () {
  "use strict";

  var APP_TITLE = "Seedance Studio";
  var knownStates = new Map();

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $$(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }

  /* ---------- Create form: cost, counter, mode, frames ---------- */

  var priceTable = null;
  function prices() {
    if (priceTable === null) {
      var node = document.getElementById("price-table");
      try { priceTable = node ? JSON.parse(node.textContent) : {}; } catch (e) { priceTable = {}; }
    }
    return priceTable;
  }

  function creditsPerSecond(resolution, sound, routing) {
    var table = prices();
    var base = resolution + "|" + (sound ? 1 : 0) + "|";
    if (Object.prototype.hasOwnProperty.call(table, base + routing)) { return table[base + routing]; }
    if (Object.prototype.hasOwnProperty.call(table, base)) { return table[base]; }
    return null;
  }

  function checkedValue(form, name) {
    var input = form.querySelector('input[name="' + name + '"]:checked');
    return input ? input.value : null;
  }

  function checkedValues(form, name) {
    return $$('input[name="' + name + '"]:checked', form).map(function (i) { return i.value; });
  }

  function unique(values) {
    return values.filter(function (v, i) { return v !== null && values.indexOf(v) === i; });
  }

  function balance() {
    var node = document.getElementById("credit-balance");
    return node ? parseInt(node.getAttribute("data-balance") || "0", 10) : 0;
  }

  function updateCost(form) {
    var total = $("#cost-total", form);
    if (!total) { return; }
    var resolution = checkedValue(form, "resolution") || "720p";
    var soundBox = form.querySelector('input[name="sound"]');
    var routingSelect = form.querySelector('select[name="routing"]');
    var routing = routingSelect ? routingSelect.value : "";
    var aspects = unique([checkedValue(form, "aspect_ratio")].concat(checkedValues(form, "extra_aspect_ratios")));
    var durations = unique([checkedValue(form, "duration")].concat(checkedValues(form, "extra_durations")));
    var cps = creditsPerSecond(resolution, soundBox && soundBox.checked, routing);
    var count = aspects.length * durations.length;
    var seconds = durations.reduce(function (sum, d) { return sum + (parseInt(d, 10) || 0); }, 0);
    if (cps === null || count === 0) { return; }
    var cost = cps * seconds * aspects.length;
    var after = balance() - cost;
    total.textContent = String(cost);
    $("#cost-after", form).textContent = after >= 0 ? String(after) : "not enough credits";
    $("#cost-summary", form).classList.toggle("is-short", after < 0);
    var variants = $("#cost-variants", form);
    if (variants) { variants.textContent = count > 1 ? "for " + count + " videos" : ""; }
    var summary = $("#variant-summary", form);
    if (summary) { summary.textContent = count > 1 ? "· " + count + " videos" : ""; }
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
    if (text) { text.textContent = src ? (label || "Choose another image") : "Choose or drop an image"; }
  }

  function onFileChosen(input) {
    var slot = input.closest(".frame-slot");
    var file = input.files && input.files[0];
    if (!slot) { return; }
    measureFile(slot, file);
    if (!file) { showPreview(slot, null); return; }
    var url = URL.createObjectURL(file);
    showPreview(slot, url, file.name + " · choose another");
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

  /* Frames whose shape differs from the chosen aspect ratio get cropped: say so. */

  var ASPECTS = { "1:1": 1, "16:9": 16 / 9, "9:16": 9 / 16, "21:9": 21 / 9, "4:3": 4 / 3, "3:4": 3 / 4 };
  var SHAPE_TOLERANCE = 0.03;

  function shapeName(width, height) {
    var ratio = width / height;
    var names = Object.keys(ASPECTS);
    for (var i = 0; i < names.length; i++) {
      if (Math.abs(ratio - ASPECTS[names[i]]) / ASPECTS[names[i]] <= SHAPE_TOLERANCE) { return names[i]; }
    }
    return ratio >= 1 ? ratio.toFixed(2) + ":1" : "1:" + (1 / ratio).toFixed(2);
  }

  function checkFrameShapes(form) {
    var chosen = checkedValue(form, "aspect_ratio");
    var target = ASPECTS[chosen];
    $$(".frame-slot", form).forEach(function (slot) {
      var img = $(".frame-preview", slot);
      var warning = $("[data-frame-warning]", slot);
      if (!warning) { return; }
      var text = "";
      var size = frameSize(slot, img);
      if (target && size) {
        var width = size[0];
        var height = size[1];
        if (Math.abs(width / height - target) / target > SHAPE_TOLERANCE) {
          var shape = shapeName(width, height);
          text = ASPECTS[shape]
            ? "This image is " + shape + " (" + width + "×" + height + ") but the video is " + chosen +
              ": it will be cropped to fit. Choose the " + shape + " shape to keep all of it."
            : "This image is " + width + "×" + height + ", not " + chosen + ": it will be cropped to fit the video.";
        }
      }
      if (warning.textContent !== text) { warning.textContent = text; }
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

  function initForm(form) {
    if (form.dataset.enhanced) { return; }
    form.dataset.enhanced = "1";
    updateCounter(form);
    updateMode(form);
    updateCost(form);
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
    updateCost(form);
  });

  /* ---------- Task cards: ticking clocks, title, dedupe, notifications ---------- */

  function formatSeconds(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    if (seconds < 60) { return seconds + " s"; }
    var minutes = Math.floor(seconds / 60);
    var rest = seconds % 60;
    if (minutes < 60) { return minutes + " min " + (rest < 10 ? "0" : "") + rest + " s"; }
    var hours = Math.floor(minutes / 60);
    minutes = minutes % 60;
    return hours + " h " + (minutes < 10 ? "0" : "") + minutes + " min";
  }

  function tick() {
    var now = Date.now();
    $$('.task-card[data-in-flight="1"]').forEach(function (card) {
      var created = parseInt(card.dataset.createdMs, 10);
      var elapsed = $(".elapsed", card);
      if (elapsed && created) { elapsed.textContent = formatSeconds((now - created) / 1000); }
      var submitted = parseInt(card.dataset.submittedMs, 10);
      var expected = parseInt(card.dataset.expectedS, 10) || 75;
      var state = card.dataset.state;
      if (!submitted || state === "queued" || state === "unknown") { return; }
      var since = (now - submitted) / 1000;
      var bar = $("progress", card);
      if (bar) {
        var pct = Math.min(95, Math.floor((since / expected) * 100));
        if (pct > parseInt(bar.value, 10)) { bar.value = pct; bar.textContent = pct + "%"; }
      }
      var eta = $(".eta", card);
      if (eta && state !== "downloading") {
        var left = expected - since;
        eta.textContent = left > 0 ? "About " + formatSeconds(left) + " left" : "Taking longer than usual";
      }
    });
  }

  function updateTitle() {
    var live = document.getElementById("task-live");
    if (!live) { return; }
    var running = parseInt(live.getAttribute("data-running") || "0", 10);
    document.title = running > 0 ? "(" + running + " running) " + APP_TITLE : APP_TITLE;
  }

  function dedupeCards() {
    // A poll and a submit can both deliver the same new card: keep the first.
    var seen = {};
    $$("#task-cards > .task-card").forEach(function (card) {
      if (seen[card.id]) { card.remove(); } else { seen[card.id] = true; }
    });
  }

  function notifyFinished(card) {
    var previous = knownStates.get(card.id);
    var state = card.dataset.state;
    knownStates.set(card.id, state);
    if (!previous || previous === state) { return; }
    if (state !== "succeeded" && state !== "failed") { return; }
    if (!("Notification" in window) || Notification.permission !== "granted") { return; }
    // A member looking at the page sees the card change; notify the others.
    if (!document.hidden && document.hasFocus()) { return; }
    var prompt = ($(".card-prompt", card) || {}).textContent || "";
    try {
      var note = new Notification(state === "succeeded" ? "Your video is ready" : "A video failed", {
        body: prompt.trim().slice(0, 120),
        icon: "/static/generations/icon.svg",
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
    if (!formIsDirty(document.getElementById("create-form"))) {
      if (link.dataset.draftTab) { link.removeAttribute("target"); delete link.dataset.draftTab; }
      return;
    }
    link.target = "_blank";
    link.rel = "noopener";
    link.dataset.draftTab = "1";
    toast("Opened in a new tab, so what you typed here stays.", "info");
  });

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
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    node.appendChild(span);
    node.appendChild(close);
    box.appendChild(node);
    initToasts(box);
  }

  /* ---------- Presets ---------- */

  function presetData() {
    var node = document.getElementById("preset-data");
    try { return node ? JSON.parse(node.textContent) : {}; } catch (e) { return {}; }
  }

  function setChecked(form, name, values) {
    $$('input[name="' + name + '"]', form).forEach(function (input) {
      input.checked = values.indexOf(input.value) >= 0;
    });
  }

  function applyPreset(form, params) {
    ["mode", "resolution", "duration", "aspect_ratio", "delivery"].forEach(function (name) {
      if (params[name] !== undefined) { setChecked(form, name, [String(params[name])]); }
    });
    ["extra_aspect_ratios", "extra_durations"].forEach(function (name) {
      setChecked(form, name, (params[name] || []).map(String));
    });
    ["sound", "fixed_lens"].forEach(function (name) {
      var box = form.querySelector('input[name="' + name + '"]');
      if (box && params[name] !== undefined) { box.checked = !!params[name]; }
    });
    var routing = form.querySelector('select[name="routing"]');
    if (routing && params.routing) { routing.value = params.routing; }
    updateMode(form);
    updateCost(form);
    checkFrameShapes(form);
  }

  function syncPresetBar() {
    var select = document.getElementById("preset-select");
    var remove = document.getElementById("preset-delete");
    if (select && remove) { remove.disabled = !select.value; }
  }

  document.addEventListener("change", function (event) {
    if (event.target.id !== "preset-select") { return; }
    syncPresetBar();
    var preset = presetData()[event.target.value];
    var form = document.getElementById("create-form");
    if (!preset || !form) { return; }
    applyPreset(form, preset.params);
    var status = document.getElementById("preset-status");
    if (status) { status.textContent = "Applied the preset " + preset.name + "."; }
  });

  document.addEventListener("submit", function (event) {
    // With JavaScript a preset applies on choice; never reload the page for it.
    if (event.target.id === "preset-bar") { event.preventDefault(); }
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
    if (count > bulkMax) { note = "Select at most " + bulkMax + " videos for one action."; }
    else if (count > zipMax) { note = "A zip holds at most " + zipMax + " videos: select fewer to download."; }
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
      b.textContent = picks().length && count === picks().length ? "Select none" : "Select all shown";
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
      if (note && disabled.id === "bulk-hide") { note.textContent = "Only your own videos can be hidden, and none of the selected are yours."; }
    }
  }, true);

  // Enter in a small text field runs that field's own action, never the form's
  // first button (the form's default would be "Favourite" or "Apply preset").
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || event.isComposing) { return; }
    var target = { "bulk-collect-title": "bulk-collect-add", "preset-name": "preset-save" }[event.target.id];
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

  /* ---------- Copy, toasts ---------- */

  document.addEventListener("click", function (event) {
    var copy = event.target.closest && event.target.closest("[data-copy-target]");
    if (copy) {
      var source = document.querySelector(copy.getAttribute("data-copy-target"));
      if (source && navigator.clipboard) {
        navigator.clipboard.writeText(source.textContent).then(function () {
          copy.textContent = "Copied";
          copy.classList.add("is-copied");
          setTimeout(function () { copy.textContent = "Copy"; copy.classList.remove("is-copied"); }, 1800);
        });
      }
      return;
    }
    var close = event.target.closest && event.target.closest(".toast-close");
    if (close) { dismiss(close.closest(".toast")); }
  });

  function dismiss(toast) {
    if (!toast || toast.classList.contains("is-leaving")) { return; }
    toast.classList.add("is-leaving");
    setTimeout(function () { toast.remove(); }, 260);
  }

  function initToasts(root) {
    $$(".toast", root).forEach(function (toast) {
      if (toast.dataset.timed) { return; }
      toast.dataset.timed = "1";
      setTimeout(function () { dismiss(toast); }, toast.classList.contains("toast-error") ? 9000 : 5000);
    });
  }

  /* ---------- Session expiry ---------- */

  // A poll after the session ended is redirected to the login page; the browser
  // follows that silently. Go there (and back to this page after logging in)
  // instead of swapping the login page into the list.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail && event.detail.xhr;
    if (xhr && xhr.responseURL && new URL(xhr.responseURL).pathname === "/login/") {
      event.detail.shouldSwap = false;
      window.location.assign("/login/?next=" + encodeURIComponent(location.pathname + location.search));
    }
  });

  /* ---------- Wiring ---------- */

  function init(root) {
    var form = document.getElementById("create-form");
    if (form) { initForm(form); }
    dedupeCards();
    $$(".task-card").forEach(notifyFinished);
    updateTitle();
    updateNotifyOffer();
    syncPresetBar();
    updateSelection();
    initToasts(document);
  }

  document.addEventListener("DOMContentLoaded", function () {
    init(document);
    setInterval(tick, 1000);
  });
  document.addEventListener("htmx:load", function (event) { init(event.target); });
  document.addEventListener("htmx:afterSettle", function () { init(document); });
})();
