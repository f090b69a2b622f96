// The health page's charts: the last hour of GET /v1/metrics/history drawn with uPlot, one chart per figure,
// each with a text summary of its latest values (the charts themselves are hidden from screen readers), fetched
// again as each interval ends; the components' table is refreshed at the same time.
(function () {
  "use strict";
  var root = document.getElementById("charts");
  if (!root || typeof uPlot === "undefined") { return; }
  var status = document.getElementById("charts-status");
  var HEIGHT = 180;
  var MIN_WAIT_MS = 2000;

  function percent(value) { return value === null ? null : Math.round(value * 10000) / 100; }
  function ms(value) { return value === null || value === undefined ? "-" : value.toFixed(1) + " ms"; }
  function number(value, unit) { return value === null || value === undefined ? "-" : String(Math.round(value * 100) / 100) + unit; }

  // Each chart: its series (a name and how to read it from a sample) and the summary of the newest sample.
  var CHARTS = {
    latency: {
      series: [["p50", function (s) { return s.latency_p50_ms; }], ["p95", function (s) { return s.latency_p95_ms; }], ["p99", function (s) { return s.latency_p99_ms; }]],
      summary: function (s) { return "p50 " + ms(s.latency_p50_ms) + ", p95 " + ms(s.latency_p95_ms) + ", p99 " + ms(s.latency_p99_ms); }
    },
    throughput: {
      series: [["requests/s", function (s) { return s.requests_per_second; }]],
      summary: function (s) { return number(s.requests_per_second, " requests/s"); }
    },
    errors: {
      series: [["5xx %", function (s) { return percent(s.error_rate); }]],
      summary: function (s) { return number(percent(s.error_rate), "% of requests answered 5xx"); }
    },
    cache: {
      series: [["hit %", function (s) { return percent(s.cache_hit_rate); }]],
      summary: function (s) { return s.cache_hit_rate === null ? "no cache lookups" : number(percent(s.cache_hit_rate), "% of cache lookups hit"); }
    },
    queue: {
      series: [["queued", function (s) { return s.queue_depth; }]],
      summary: function (s) { return number(s.queue_depth, " jobs queued"); }
    }
  };

  function colour(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }

  function options(chart, width) {
    var text = colour("--text"), grid = colour("--border");
    var strokes = [colour("--accent"), colour("--ok"), colour("--error")];
    var dashes = [[], [6, 3], [2, 2]];  // told apart without colour too
    var axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    return {
      width: width,
      height: HEIGHT,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); },
      scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(max || 0, 1)]; } } },
      axes: [axis, axis],
      series: [{}].concat(CHARTS[chart].series.map(function (entry, i) {
        return { label: entry[0], stroke: strokes[i], width: 2, dash: dashes[i], spanGaps: false };
      }))
    };
  }

  function columns(chart, samples) {
    var xs = samples.map(function (s) { return Date.parse(s.at) / 1000; });
    return [xs].concat(CHARTS[chart].series.map(function (entry) {
      return samples.map(function (s) { var v = entry[1](s); return v === undefined ? null : v; });
    }));
  }

  var plots = {};

  function widthOf(section) { return Math.max(section.querySelector(".chart-plot").clientWidth, 200); }

  function draw(history) {
    var samples = history.samples || [];
    root.querySelectorAll("[data-chart]").forEach(function (section) {
      var chart = section.dataset.chart;
      var data = columns(chart, samples);
      if (plots[chart]) {
        plots[chart].setData(data);
      } else {
        plots[chart] = new uPlot(options(chart, widthOf(section)), data, section.querySelector(".chart-plot"));
      }
      var summary = section.querySelector("[data-summary]");
      if (!samples.length) {
        summary.textContent = "No figures yet: the first comes " + history.interval_seconds + " s after the server started.";
        return;
      }
      var last = samples[samples.length - 1];
      summary.textContent = "Latest (" + last.at.slice(11, 19) + " UTC): " + CHARTS[chart].summary(last) +
        ". " + samples.length + " samples of " + history.interval_seconds + " s.";
    });
  }

  function rebuild() {  // a theme switched or the width changed: new colours, new sizes
    Object.keys(plots).forEach(function (chart) {
      var plot = plots[chart];
      var data = plot.data;
      plot.destroy();
      var section = root.querySelector('[data-chart="' + chart + '"]');
      plots[chart] = new uPlot(options(chart, widthOf(section)), data, section.querySelector(".chart-plot"));
    });
  }

  function refreshComponents() {
    var table = document.getElementById("components");
    if (table && window.htmx) { window.htmx.trigger(table, "refresh"); }
  }

  function load() {
    fetch(root.dataset.historyUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("the figures could not be read (" + response.status + ")"); }
        return response.json();
      })
      .then(function (history) {
        draw(history);
        say("The last hour of this server's figures, refreshed every " + history.interval_seconds + " s.");
        schedule(history.interval_seconds * 1000);
      })
      .catch(function (error) {
        say(String(error.message || error) + "; trying again.");
        schedule(10000);
      });
  }

  function say(text) { if (status.textContent !== text) { status.textContent = text; } }  // announced once

  function schedule(wait) {
    window.setTimeout(function () { load(); refreshComponents(); }, Math.max(wait, MIN_WAIT_MS));
  }

  new MutationObserver(rebuild).observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
  var resized = null;
  window.addEventListener("resize", function () { window.clearTimeout(resized); resized = window.setTimeout(rebuild, 200); });
  load();
})();
