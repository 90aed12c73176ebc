/* 诉求智能分拨 — small progressive enhancements; every page also works without this file. */
(function () {
  "use strict";

  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  /* -- intake: live suggestion while typing (debounced) ------------------------------------------ */
  function setupSuggest() {
    var form = document.getElementById("intake-form");
    var panel = document.getElementById("suggestion");
    if (!form || !panel) return;
    var text = form.querySelector("#text");
    var title = form.querySelector("#title");
    var grid = form.querySelector("#grid");
    var address = form.querySelector("#address");
    var timer = null;
    var inflight = null;
    var last = "";

    function run() {
      if (overLimit(text)) {  /* the field says why; the server would refuse it too */
        panel.innerHTML = '<p class="error" role="alert">诉求内容超过字数上限，删减后再显示建议。</p>';
        last = "";
        return;
      }
      var body = JSON.stringify({  /* grid and address locate the case for the department model */
        text: text.value, title: title ? title.value : "",
        grid: grid ? grid.value : "", address: address ? address.value : ""
      });
      if (body === last) return;
      last = body;
      if (inflight) inflight.abort();
      inflight = new AbortController();
      panel.classList.add("loading");
      panel.setAttribute("aria-busy", "true");
      fetch(form.getAttribute("data-suggest"), {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, "Accept": "text/html" },
        body: body,
        credentials: "same-origin",
        signal: inflight.signal
      })
        .then(function (r) {
          if (r.status === 401 || r.redirected) { window.location.reload(); return null; }
          if (!r.ok) throw new Error("HTTP " + r.status);
          return r.text();
        })
        .then(function (html) {
          if (html === null) return;
          panel.innerHTML = html;
          panel.classList.remove("loading");
          panel.removeAttribute("aria-busy");
        })
        .catch(function (err) {
          if (err.name === "AbortError") return;
          panel.classList.remove("loading");
          panel.removeAttribute("aria-busy");
          panel.innerHTML = '<p class="error" role="alert">暂时无法获取建议，请稍后再试。提交不受影响。</p>';
          last = "";
        });
    }

    function schedule() {
      clearTimeout(timer);
      timer = setTimeout(run, 400);
    }
    text.addEventListener("input", schedule);
    if (title) title.addEventListener("input", schedule);
    if (grid) grid.addEventListener("change", schedule);
    if (address) address.addEventListener("change", schedule);
    if (text.value.trim()) run();
  }

  /* -- length limits: an over-long value is refused next to its field, never cut ----------------- */
  /* Fields carry data-maxlength (not maxlength, which silently truncates a paste). Characters are
     counted as the server stores them: code points, a line break once, outer whitespace trimmed. */
  function charCount(value) {
    return Array.from(value.replace(/\r\n?/g, "\n").trim()).length;
  }

  function overLimit(el) {
    var limit = parseInt(el.getAttribute("data-maxlength"), 10);
    return limit > 0 && charCount(el.value) > limit;
  }

  function setupLengthLimits() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-maxlength]"), function (el) {
      var limit = parseInt(el.getAttribute("data-maxlength"), 10);
      if (!(limit > 0)) return;
      var note = document.createElement("p");
      note.className = "error length-error";
      note.id = (el.id || el.name) + "-length";
      note.setAttribute("role", "alert");
      note.hidden = true;
      el.insertAdjacentElement("afterend", note);
      var field = el.closest(".field");
      function check() {
        var n = charCount(el.value);
        if (n > limit) {
          var msg = "已输入 " + n + " 字，最多 " + limit + " 字，请删减 " + (n - limit) + " 字后再提交（内容不会被截断）。";
          note.textContent = msg;
          note.hidden = false;
          el.setCustomValidity(msg);  /* the browser then refuses to submit the form */
          el.setAttribute("aria-invalid", "true");
          el.setAttribute("aria-describedby", note.id);
          if (field) field.classList.add("has-error");
        } else if (!note.hidden) {
          note.hidden = true;
          el.setCustomValidity("");
          el.removeAttribute("aria-invalid");
          el.removeAttribute("aria-describedby");
          if (field && !field.querySelector("p.error:not(.length-error)")) field.classList.remove("has-error");
        }
      }
      el.addEventListener("input", check);
      check();
    });
    document.addEventListener("submit", function (ev) {
      /* forms sent without validation (novalidate, scripts): still never post an over-long value */
      var bad = Array.prototype.filter.call(ev.target.querySelectorAll("[data-maxlength]"), overLimit);
      if (bad.length) {
        ev.preventDefault();
        ev.stopPropagation();
        bad[0].focus();
      }
    }, true);
  }

  /* -- review: sub-categories follow the chosen category ------------------------------------------ */
  function setupSubcategories() {
    var data = document.getElementById("subcategories");
    var cat = document.getElementById("category");
    var sub = document.getElementById("subcategory");
    if (!data || !cat || !sub) return;
    var map = JSON.parse(data.textContent || "{}");
    cat.addEventListener("change", function () {
      var keep = sub.value;
      while (sub.options.length > 1) sub.remove(1);
      (map[cat.value] || []).forEach(function (name) {
        var opt = document.createElement("option");
        opt.value = name;
        opt.textContent = name;
        if (name === keep) opt.selected = true;
        sub.appendChild(opt);
      });
    });
  }

  /* -- keyboard shortcuts ------------------------------------------------------------------------ */
  function isTyping(el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("tr[data-row]"));
  }

  function select(delta) {
    var list = rows();
    if (!list.length) return;
    var i = list.findIndex(function (r) { return r.classList.contains("selected"); });
    var next = Math.max(0, Math.min(list.length - 1, i < 0 ? 0 : i + delta));
    list.forEach(function (r) { r.classList.remove("selected"); });
    list[next].classList.add("selected");
    list[next].scrollIntoView({ block: "nearest" });
  }

  function openSelected() {
    var row = document.querySelector("tr[data-row].selected");
    if (!row) return false;
    var claim = row.querySelector("[data-claim]");
    if (claim) claim.click();
    else window.location.href = row.getAttribute("data-href");
    return true;
  }

  function activate(el) {
    if (el.tagName === "FORM") {
      if (el.requestSubmit) el.requestSubmit(); else el.submit();
    } else if (isTyping(el)) {
      el.focus();
      el.scrollIntoView({ block: "center" });
    } else {
      el.click();
    }
  }

  document.addEventListener("keydown", function (ev) {
    var target = ev.target;
    if (isTyping(target)) {
      if (ev.key === "Escape") target.blur();
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey) && target.form) {
        ev.preventDefault();
        activate(target.form);
      }
      return;
    }
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var key = ev.key;
    if (key === "?") {
      var help = document.getElementById("shortcut-help");
      if (help) help.hidden = !help.hidden;
      return;
    }
    if (key === "j" || key === "ArrowDown") { if (rows().length) { ev.preventDefault(); select(1); } return; }
    if (key === "k" || key === "ArrowUp") { if (rows().length) { ev.preventDefault(); select(-1); } return; }
    if (key === "Enter" && openSelected()) { ev.preventDefault(); return; }
    var el = document.querySelector('[data-key="' + key.toLowerCase() + '"]');
    if (el && key.length === 1) {
      ev.preventDefault();
      activate(el);
    }
  });

  /* -- small conveniences ------------------------------------------------------------------------ */
  document.addEventListener("click", function (ev) {
    var back = ev.target.closest && ev.target.closest("[data-back]");
    if (back && window.history.length > 1) {
      ev.preventDefault();
      window.history.back();
    }
  });
  document.addEventListener("change", function (ev) {
    if (ev.target.matches && ev.target.matches("[data-autosubmit]") && ev.target.form) ev.target.form.submit();
  });
  document.addEventListener("submit", function (ev) {
    /* one click, one submission: disable the buttons of a form once it is sent */
    var form = ev.target;
    setTimeout(function () {
      Array.prototype.forEach.call(form.querySelectorAll("button[type=submit]"), function (b) { b.disabled = true; });
    }, 0);
  });

  /* daily charts on a phone: show the latest days first (the chart scrolls inside its card) */
  Array.prototype.forEach.call(document.querySelectorAll(".chart-scroll.to-end"), function (box) {
    box.scrollLeft = box.scrollWidth;
  });

  setupLengthLimits();
  setupSuggest();
  setupSubcategories();
})();
window.addEventListener("pageshow", function () {
  /* coming back through the history cache: buttons disabled on submit are usable again */
  Array.prototype.forEach.call(document.querySelectorAll("button[disabled]"), function (b) { b.disabled = false; });
});
