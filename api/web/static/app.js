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

  /* -- deadline countdowns: "剩余 3小时12分" / "已超时 40分钟", kept current each 30 s ----------- */
  /* The server renders the same words (triage/store/deadlines.py); the script only moves the clock
     on, switching to 预警 at data-warn-at and to 超时 after data-deadline. */
  function durationText(minutes) {
    minutes = Math.max(minutes, 0);
    var days = Math.floor(minutes / 1440), hours = Math.floor((minutes % 1440) / 60), mins = minutes % 60;
    if (days) return hours ? days + "天" + hours + "小时" : days + "天";
    if (hours) return mins ? hours + "小时" + mins + "分" : hours + "小时";
    return mins + "分钟";
  }

  function paintCountdown(el, now) {
    var deadline = Date.parse(el.getAttribute("data-deadline"));
    var warnAt = Date.parse(el.getAttribute("data-warn-at"));
    if (isNaN(deadline)) return;
    var seconds = (deadline - now) / 1000;
    var state = seconds < 0 ? "overdue" : (!isNaN(warnAt) && warnAt <= now ? "warning" : "ok");
    var text = state === "overdue"
      ? "已超时 " + durationText(Math.max(Math.floor(-seconds / 60), 1))
      : "剩余 " + durationText(Math.floor(seconds / 60));
    el.classList.remove("ok", "warning", "overdue");
    el.classList.add(state);
    el.textContent = "";
    if (state !== "ok") {
      var tag = document.createElement("b");
      tag.className = "countdown-tag";
      tag.textContent = state === "overdue" ? "超时" : "预警";
      el.appendChild(tag);
      el.appendChild(document.createTextNode(" "));
    }
    var span = document.createElement("span");
    span.className = "countdown-text";
    span.textContent = text;
    el.appendChild(span);
  }

  function setupCountdowns() {
    var all = document.querySelectorAll(".countdown[data-deadline]");
    if (!all.length) return;
    function tick() {
      var now = Date.now();
      Array.prototype.forEach.call(all, function (el) { paintCountdown(el, now); });
    }
    setInterval(tick, 30000);
  }

  /* -- irreversible keyboard actions ask for a confirming key ------------------------------------ */
  /* One stray key must never dispatch, merge or reject (issue 13): the first press (a shortcut,
     Ctrl+Enter, or Enter inside such a form) only shows what would happen; the same key or Enter
     within CONFIRM_MS does it; Esc, any other key or the timeout cancels. A click is deliberate and
     needs no second step. Forms are recognised by data-confirm="<what>" or by their action. */
  var CONFIRM_MS = 5000;
  var IRREVERSIBLE = { accept: "交办", correct: "修正并交办", merge: "合并为重复件", reject: "不予受理", dispatch: "交办" };
  var pending = null;

  function formOf(el) {
    return el.tagName === "FORM" ? el : (el.form || (el.closest && el.closest("form")));
  }

  function irreversible(el) {
    var form = formOf(el);
    if (!form) return null;
    var label = form.getAttribute("data-confirm");
    if (label) return label;
    var m = /\/(accept|correct|merge|reject|dispatch)$/.exec(form.getAttribute("action") || "");
    return m ? IRREVERSIBLE[m[1]] : null;
  }

  function confirmBar() {
    var bar = document.getElementById("key-confirm");
    if (!bar) {
      bar = document.createElement("div");
      bar.id = "key-confirm";
      bar.className = "key-confirm";
      bar.setAttribute("role", "alert");
      bar.hidden = true;
      document.body.appendChild(bar);
    }
    return bar;
  }

  function kbd(text) {
    var k = document.createElement("kbd");
    k.textContent = text;
    return k;
  }

  function cancelPending(message) {
    if (!pending) return;
    clearInterval(pending.timer);
    pending = null;
    var bar = confirmBar();
    if (!message) { bar.hidden = true; return; }
    bar.textContent = message;
    bar.classList.add("cancelled");
    setTimeout(function () { if (!pending) bar.hidden = true; }, 1500);
  }

  function askConfirm(key, el, label) {
    cancelPending();
    var form = formOf(el);
    var m = /\/(\d{6,20})\//.exec((form && form.getAttribute("action")) || "");
    var bar = confirmBar();
    var until = Date.now() + CONFIRM_MS;
    function paint() {
      var left = Math.max(0, Math.ceil((until - Date.now()) / 1000));
      if (!left) { cancelPending("已取消：未在规定时间内确认。"); return; }
      bar.textContent = "";
      bar.classList.remove("cancelled");
      var what = document.createElement("strong");
      what.textContent = "确认" + label + (m ? "案件 " + m[1] : "") + "？";
      bar.appendChild(what);
      bar.appendChild(document.createTextNode(" 再按 "));
      if (key !== "Enter") { bar.appendChild(kbd(key.toUpperCase())); bar.appendChild(document.createTextNode(" 或 ")); }
      bar.appendChild(kbd("Enter"));
      bar.appendChild(document.createTextNode(" 确认，"));
      bar.appendChild(kbd("Esc"));
      bar.appendChild(document.createTextNode(" 取消（" + left + " 秒）"));
    }
    pending = { key: key.toLowerCase(), run: function () { activate(el); }, timer: setInterval(paint, 250) };
    paint();
    bar.hidden = false;
  }

  /* Returns true when the key was the answer to a pending confirmation (consumed). */
  function answerPending(ev) {
    if (!pending) return false;
    if (/^(Shift|Control|Alt|Meta|CapsLock)$/.test(ev.key)) return true;
    ev.preventDefault();
    ev.stopPropagation();
    if (ev.key === "Enter" || ev.key.toLowerCase() === pending.key) {
      var run = pending.run;
      cancelPending();
      run();
    } else {
      cancelPending("已取消，未执行任何操作。");
    }
    return true;
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
    if (answerPending(ev)) return;
    var target = ev.target;
    if (isTyping(target)) {
      if (ev.key === "Escape") target.blur();
      var asks = target.form && irreversible(target.form);
      /* Ctrl+Enter submits; plain Enter in a one-line field of a dispatch/merge/reject form would
         submit it natively, so it asks first too */
      if (ev.key === "Enter" && target.form && (ev.ctrlKey || ev.metaKey || (asks && target.tagName === "INPUT"))) {
        ev.preventDefault();
        if (asks) askConfirm("Enter", target.form, asks); else activate(target.form);
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
      var label = isTyping(el) ? null : irreversible(el);  /* a field only takes the focus */
      if (label) askConfirm(key, el, label); else activate(el);
    }
  });

  /* -- small conveniences ------------------------------------------------------------------------ */
  document.addEventListener("click", function (ev) {
    if (ev.target.id === "select-confident") {  /* review queue: tick the suggestions that need no review */
      Array.prototype.forEach.call(document.querySelectorAll('input[form="bulk"][name="case_no"]'), function (box) {
        box.checked = box.hasAttribute("data-confident");
      });
      return;
    }
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

  /* filters on a phone: folded until opened, unless some are in use */
  if (window.matchMedia && window.matchMedia("(max-width: 700px)").matches) {
    Array.prototype.forEach.call(document.querySelectorAll('details[data-fold-on-phone="yes"]'), function (d) {
      d.open = false;
    });
  }

  /* daily charts on a phone: show the latest days first (the chart scrolls inside its card) */
  Array.prototype.forEach.call(document.querySelectorAll(".chart-scroll.to-end"), function (box) {
    box.scrollLeft = box.scrollWidth;
  });

  /* -- intake: a phone number inside the pasted message is offered for the contact field --------- */
  function setupPhoneOffer() {
    var text = document.getElementById("text");
    var phone = document.getElementById("reporter_phone");
    var offer = document.getElementById("phone-offer");
    if (!text || !phone || !offer) return;
    var button = document.getElementById("use-phone");
    /* mainland mobiles (+86 optional) and landlines with an area code */
    var pattern = /(?:\+?86[- ]?)?(1[3-9]\d[- ]?\d{4}[- ]?\d{4})|(0\d{2,3}-\d{7,8})/;
    function check() {
      var m = text.value.match(pattern);
      var found = m ? (m[1] ? m[1].replace(/[- ]/g, "") : m[2]) : "";
      offer.hidden = !found || phone.value.trim() !== "";  /* never over what was typed there */
      button.querySelector("span").textContent = found;
      button.setAttribute("data-phone", found);
    }
    text.addEventListener("input", check);
    phone.addEventListener("input", check);
    button.addEventListener("click", function () {
      phone.value = button.getAttribute("data-phone") || "";
      offer.hidden = true;
      phone.dispatchEvent(new Event("input", { bubbles: true }));
    });
    check();
  }

  setupLengthLimits();
  setupPhoneOffer();
  setupSuggest();
  setupSubcategories();
  setupCountdowns();
})();
window.addEventListener("pageshow", function () {
  /* coming back through the history cache: buttons disabled on submit are usable again */
  Array.prototype.forEach.call(document.querySelectorAll("button[disabled]"), function (b) { b.disabled = false; });
});
