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
    var text = $(".dropzone-label", slot);
    if (text) { text.textContent = src ? (label || "Choose another image") : "Choose or drop an image"; }
  }

  function onFileChosen(input) {
    var slot = input.closest(".frame-slot");
    var file = input.files && input.files[0];
    if (!slot) { return; }
    if (!file) { showPreview(slot, null); return; }
    var url = URL.createObjectURL(file);
    showPreview(slot, url, file.name + " · choose another");
    $(".frame-preview", slot).dataset.objectUrl = url;
  }

  function onUrlChanged(input) {
    var slot = input.closest(".frame-slot");
    var value = input.value.trim();
    var file = $(".frame-file", slot);
    if (file && file.files && file.files.length) { return; }
    showPreview(slot, /^https:\/\/\S+$/.test(value) ? value : null);
  }

  function initForm(form) {
    if (form.dataset.enhanced) { return; }
    form.dataset.enhanced = "1";
    updateCounter(form);
    updateMode(form);
    updateCost(form);
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
    if (!("Notification" in window) || Notification.permission !== "granted" || !document.hidden) { return; }
    var prompt = ($(".card-prompt", card) || {}).textContent || "";
    new Notification(state === "succeeded" ? "Your video is ready" : "A video failed", {
      body: prompt.trim().slice(0, 120),
      icon: "/static/generations/icon.svg",
      tag: card.id
    });
  }

  function initNotifyButton() {
    var button = document.getElementById("notify-btn");
    if (!button || !("Notification" in window)) { return; }
    button.hidden = Notification.permission !== "default";
    if (button.dataset.bound) { return; }
    button.dataset.bound = "1";
    button.addEventListener("click", function () {
      Notification.requestPermission().then(function () { button.hidden = true; });
    });
  }

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
    initNotifyButton();
    initToasts(document);
  }

  document.addEventListener("DOMContentLoaded", function () {
    init(document);
    setInterval(tick, 1000);
  });
  document.addEventListener("htmx:load", function (event) { init(event.target); });
  document.addEventListener("htmx:afterSettle", function () { init(document); });
})();
