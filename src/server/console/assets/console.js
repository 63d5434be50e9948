// The console's own script: charts from the data the page carries, failures of htmx
// requests shown in the flash area, and keyboard focus after partial updates. No inline
// script anywhere: the pages' Content-Security-Policy allows scripts from the console only.
(function () {
  "use strict";

  // A failed request (4xx/5xx) shows the page's message instead of doing nothing.
  document.addEventListener("htmx:beforeSwap", function (e) {
    var xhr = e.detail.xhr;
    if (xhr.status < 400) return;
    e.detail.shouldSwap = false;
    var flash = document.getElementById("flash");
    if (!flash) return;
    var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
    var fail = doc.querySelector(".fail p") || doc.querySelector(".fail");
    flash.textContent = (fail ? fail.textContent : "The request failed (" + xhr.status + ").");
    flash.className = "shown";
  });
  document.addEventListener("htmx:sendError", function () {
    var flash = document.getElementById("flash");
    if (flash) { flash.textContent = "The daemon did not answer."; flash.className = "shown"; }
  });
  document.addEventListener("htmx:afterRequest", function (e) {
    var flash = document.getElementById("flash");
    if (flash && e.detail.successful) { flash.textContent = ""; flash.className = ""; }
  });

  function num(v) { return v === null || v === undefined ? null : Number(v); }

  function charts() {
    if (typeof uPlot === "undefined") return;
    document.querySelectorAll("[data-series]").forEach(function (box) {
      var d;
      try { d = JSON.parse(box.getAttribute("data-series")); } catch (err) { return; }
      if (!d.x || d.x.length === 0) {
        box.querySelectorAll(".chart").forEach(function (c) { c.textContent = "No days with data in this range."; });
        return;
      }
      var width = Math.max(280, Math.min(560, box.clientWidth - 24));
      var css = getComputedStyle(document.body);
      var fg = css.getPropertyValue("--chart-1").trim() || "#2563eb";
      var fg2 = css.getPropertyValue("--chart-2").trim() || "#16a34a";
      var fg3 = css.getPropertyValue("--chart-3").trim() || "#9333ea";
      var axis = { stroke: css.getPropertyValue("--muted").trim() || "#666", grid: { stroke: "rgba(127,127,127,0.15)" } };
      var make = {
        tickets: function () {
          return [[d.x, d.created.map(num), d.solved.map(num), d.backlog.map(num)],
            [{ label: "created", stroke: fg, width: 2 }, { label: "solved", stroke: fg2, width: 2 }, { label: "backlog", stroke: fg3, dash: [4, 4] }]];
        },
        response: function () {
          var h = function (s) { return s === null || s === undefined ? null : Math.round(s / 36) / 100; };
          return [[d.x, d.first_response_p50.map(h), d.first_response_p90.map(h)],
            [{ label: "p50 h", stroke: fg, width: 2 }, { label: "p90 h", stroke: fg3, width: 2 }]];
        },
        sla: function () {
          var p = function (s) { return s === null || s === undefined ? null : Math.round(s * 1000) / 10; };
          return [[d.x, d.sla.map(p)], [{ label: "attained %", stroke: fg2, width: 2 }]];
        }
      };
      box.querySelectorAll(".chart").forEach(function (el) {
        var m = make[el.getAttribute("data-chart")];
        if (!m) return;
        var built = m();
        el.textContent = "";
        new uPlot({
          width: width, height: 200,
          series: [{}].concat(built[1]),
          axes: [axis, axis],
          scales: { x: { time: true } }
        }, built[0], el);
      });
    });
  }

  // Copy an example event into the playground's text area.
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t && t.matches && t.matches("select[data-example-for]")) {
      var area = document.getElementById(t.getAttribute("data-example-for"));
      var opt = t.options[t.selectedIndex];
      if (area && opt && opt.getAttribute("data-body")) area.value = opt.getAttribute("data-body");
    }
  });

  // After a partial update, move focus to what arrived when it asks for it.
  document.addEventListener("htmx:afterSettle", function (e) {
    var f = e.detail.target && e.detail.target.querySelector && e.detail.target.querySelector("[data-focus]");
    if (f) f.focus();
  });

  // The live figures: one server-sent-events stream per page, closed when the page is left
  // (a page kept for the back button must not hold a connection), opened again when shown.
  var live = null;
  function connect() {
    var strip = document.querySelector("[data-live]");
    if (live || !strip || typeof EventSource === "undefined") return;
    live = new EventSource(strip.getAttribute("data-live"));
    live.addEventListener("counters", function (e) {
      // The server's own fragment, escaped there like every page.
      strip.innerHTML = e.data;
    });
    live.addEventListener("tick", function () {
      if (typeof htmx === "undefined") return;
      document.querySelectorAll("[data-refresh-on-tick]").forEach(function (el) { htmx.trigger(el, "tick"); });
    });
  }
  window.addEventListener("pagehide", function () { if (live) { live.close(); live = null; } });
  window.addEventListener("pageshow", connect);
  connect();

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", charts);
  else charts();
})();
