/* gongshu 公数 — the data cockpit (数据驾驶舱): draws the figures of #cockpit-data with ECharts.
 *
 * The page already holds every figure as HTML tables (for screen readers and browsers without
 * JavaScript); this script draws the charts from the JSON data island, fetches the district
 * outlines from /static/geo/shanghai.json (shipped, never from the internet), and lets the viewer
 * switch between charts and tables. Nothing here decides a figure: it only draws what it is given.
 */
(function () {
  "use strict";

  var island = document.getElementById("cockpit-data");
  var root = document.getElementById("cockpit");
  if (!island || !root || typeof window.echarts === "undefined") return;

  var data = JSON.parse(island.textContent);
  var figures = data.figures;
  var text = data.text;
  var zh = data.lang !== "en";
  var charts = [];

  var FONT = 'system-ui, "PingFang SC", "Microsoft YaHei", "WenQuanYi Zen Hei", "Noto Sans CJK SC", sans-serif';
  var INK = "#dbe7ff";
  var MUTED = "#8fa8cc";
  var LINE = "rgba(120, 170, 255, 0.18)";
  var CYAN = "#38d6ff";
  var GOLD = "#ffc95c";
  var GREY = "#3b4a66";
  // low scores warm, high scores cool: the same scale on the map and the rankings
  var SCALE = ["#f0714f", "#f5b14c", "#e6e35a", "#4fd1a5", "#2bb6f0"];

  // --- numbers, as the page's tables show them ---------------------------------------------------

  // as gongshu/web/routes/cockpit.py:format_count: 万 / 亿 in Chinese, M / bn in English, and
  // counts below 100,000 written out in full
  var UNITS = zh ? [[1e8, "亿"], [1e4, "万"]] : [[1e9, " bn"], [1e6, " M"]];
  var IN_FULL = 1e5;

  function count(value) {
    if (value === null || value === undefined) return "—";
    for (var i = 0; i < UNITS.length; i++) {
      if (Math.abs(value) >= Math.max(UNITS[i][0], IN_FULL)) return (value / UNITS[i][0]).toFixed(2) + UNITS[i][1];
    }
    return Math.round(value).toLocaleString("en-US");
  }

  function axisCount(value) {
    // axis ticks: fewer decimals than the tooltips
    if (value === 0) return "0";
    for (var i = 0; i < UNITS.length; i++) {
      if (Math.abs(value) >= UNITS[i][0]) return +(value / UNITS[i][0]).toFixed(1) + UNITS[i][1];
    }
    return value.toLocaleString("en-US");
  }

  var MONTHS_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  function monthLabel(value, withYear) {
    // "2026-01" → "1月", or "1月" over "2026年" where the year is to be said
    var year = value.slice(0, 4);
    var month = +value.slice(5, 7);
    var label = zh ? month + "月" : MONTHS_EN[month - 1];
    return withYear ? label + "\n" + (zh ? year + "年" : year) : label;
  }

  function decimal(value) {
    return value === null || value === undefined ? "—" : value.toFixed(1);
  }

  function name(item) {
    if (!zh && item.name_en) return item.name_en;
    return item.name.replace(/^上海市/, "");
  }

  function escapeHtml(value) {
    return String(value).replace(/[&<>"']/g, function (ch) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[ch];
    });
  }

  function row(label, value) {
    return '<div class="cp-tip-row"><span>' + escapeHtml(label) + "</span><b>" + escapeHtml(value) + "</b></div>";
  }

  function scoreRange(items) {
    var scores = items.map(function (d) { return d.score; }).filter(function (s) { return s !== null; });
    if (!scores.length) return [0, 100];
    return [Math.floor(Math.min.apply(null, scores) - 1), Math.ceil(Math.max.apply(null, scores) + 1)];
  }

  // --- shared look -------------------------------------------------------------------------------

  var base = {
    backgroundColor: "transparent",
    textStyle: { fontFamily: FONT, color: INK },
    aria: { enabled: false }, // the page's tables say the same to screen readers
    animationDuration: 700,
    tooltip: {
      backgroundColor: "rgba(6, 22, 52, 0.94)",
      borderColor: "rgba(56, 214, 255, 0.5)",
      textStyle: { color: INK, fontFamily: FONT, fontSize: 13 },
      extraCssText: "box-shadow: 0 4px 18px rgba(0,0,0,.45); border-radius: 6px;",
    },
  };

  function init(id, option) {
    var element = document.getElementById(id);
    if (!element) return null;
    var chart = window.echarts.init(element, null, { renderer: "canvas" });
    chart.setOption(Object.assign({}, base, option));
    charts.push(chart);
    return chart;
  }

  function axisStyle(extra) {
    return Object.assign(
      {
        axisLine: { lineStyle: { color: LINE } },
        axisTick: { show: false },
        axisLabel: { color: MUTED, fontFamily: FONT },
        splitLine: { lineStyle: { color: LINE, type: "dashed" } },
        nameTextStyle: { color: MUTED, fontFamily: FONT },
      },
      extra
    );
  }

  // --- the charts --------------------------------------------------------------------------------

  function trend() {
    var months = figures.trend.map(function (p) { return p.month; });
    var element = document.getElementById("chart-trend");
    // every month where there is room, else every other one, always with the month shown
    var every = element && element.clientWidth / months.length < 34 ? 2 : 1;
    var last = months.length - 1;
    var scores = figures.trend.map(function (p) { return p.score; }).filter(function (s) { return s !== null; });
    init("chart-trend", {
      grid: { left: 48, right: 36, top: 34, bottom: 36 },
      legend: { top: 0, left: 0, textStyle: { color: MUTED, fontFamily: FONT }, itemWidth: 14, itemHeight: 8 },
      tooltip: Object.assign({}, base.tooltip, {
        trigger: "axis",
        formatter: function (items) {
          var point = figures.trend[items[0].dataIndex];
          return "<b>" + escapeHtml(point.month) + "</b>" + row(text.records, count(point.records)) + row(text.score, decimal(point.score));
        },
      }),
      xAxis: axisStyle({
        type: "category",
        data: months,
        axisLabel: {
          color: MUTED,
          fontFamily: FONT,
          fontSize: 11,
          interval: function (index) { return (last - index) % every === 0; },
          formatter: function (value, index) {
            // the year under the first month labelled and under the first labelled in each new year
            var first = last % every;
            var newYear = index - every >= 0 && months[index - every].slice(0, 4) !== value.slice(0, 4);
            return monthLabel(value, index === first || newYear);
          },
        },
        splitLine: { show: false },
      }),
      yAxis: [
        axisStyle({ type: "value", minInterval: 1, axisLabel: { color: MUTED, formatter: axisCount } }),
        axisStyle({
          type: "value",
          min: scores.length ? Math.floor((Math.min.apply(null, scores) - 2) / 5) * 5 : 0,
          max: scores.length ? Math.min(100, Math.ceil((Math.max.apply(null, scores) + 2) / 5) * 5) : 100,
          interval: scores.length ? 5 : 25,
          splitLine: { show: false },
        }),
      ],
      series: [
        {
          name: text.records,
          type: "bar",
          barMaxWidth: 18,
          data: figures.trend.map(function (p) { return p.records; }),
          itemStyle: {
            borderRadius: [3, 3, 0, 0],
            color: new window.echarts.graphic.LinearGradient(0, 0, 0, 1, [
              { offset: 0, color: "#38d6ff" },
              { offset: 1, color: "rgba(40, 110, 255, 0.35)" },
            ]),
          },
        },
        {
          name: text.score,
          type: "line",
          yAxisIndex: 1,
          smooth: true,
          connectNulls: false,
          symbolSize: 6,
          data: figures.trend.map(function (p) { return p.score === null ? "-" : p.score; }),
          lineStyle: { color: GOLD, width: 2.5 },
          itemStyle: { color: GOLD },
          label: { show: false },
        },
      ],
    });
  }

  function ranking(id, items) {
    // best at the top; the unscored at the bottom with a dash instead of a bar
    var sorted = items.slice().sort(function (a, b) {
      if (a.score === null) return b.score === null ? 0 : 1;
      if (b.score === null) return -1;
      return b.score - a.score;
    }).reverse();
    var range = scoreRange(items);
    var chart = init(id, {
      grid: { left: 8, right: 46, top: 6, bottom: 6, containLabel: true },
      tooltip: Object.assign({}, base.tooltip, {
        trigger: "item",
        formatter: function (p) {
          var d = sorted[p.dataIndex];
          return "<b>" + escapeHtml(zh ? d.name : d.name_en || d.name) + "</b>" + row(text.score, decimal(d.score)) +
            row(text.rank, d.rank === null ? "—" : String(d.rank)) + row(text.records_month, count(d.records_month));
        },
      }),
      visualMap: { show: false, dimension: 0, min: range[0], max: range[1], inRange: { color: SCALE } },
      xAxis: axisStyle({ type: "value", min: Math.max(0, range[0] - 5), max: 100, axisLabel: { show: false }, splitLine: { show: false } }),
      yAxis: axisStyle({
        type: "category",
        data: sorted.map(name),
        axisLabel: { color: INK, fontFamily: FONT, fontSize: 12 },
        axisLine: { show: false },
      }),
      series: [
        {
          type: "bar",
          barMaxWidth: 14,
          data: sorted.map(function (d) { return d.score === null ? "-" : d.score; }),
          showBackground: true,
          backgroundStyle: { color: "rgba(120, 170, 255, 0.07)", borderRadius: 7 },
          itemStyle: { borderRadius: 7 },
          label: {
            show: true,
            position: "right",
            color: INK,
            fontFamily: FONT,
            formatter: function (p) { return decimal(sorted[p.dataIndex].score); },
          },
        },
      ],
    });
    // a bar of "-" has no label: say so on the axis side instead
    var unscored = sorted.filter(function (d) { return d.score === null; });
    if (chart && unscored.length) {
      chart.setOption({
        yAxis: { axisLabel: { formatter: function (label) {
          var found = sorted.filter(function (d) { return name(d) === label; })[0];
          return found && found.score === null ? "{muted|" + label + "  " + text.no_score + "}" : label;
        }, rich: { muted: { color: MUTED, fontFamily: FONT } } } },
      });
    }
  }

  function width(geometry) {
    // how many degrees of longitude a district spans: room enough for its name?
    var polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
    var xs = [];
    polygons.forEach(function (polygon) { polygon[0].forEach(function (p) { xs.push(p[0]); }); });
    return Math.max.apply(null, xs) - Math.min.apply(null, xs);
  }

  function districtMap(geo) {
    window.echarts.registerMap("shanghai", geo);
    var range = scoreRange(figures.districts);
    var byCode = {};
    figures.districts.forEach(function (d) { byCode[d.code] = d; });
    var label = {};
    var roomy = {};
    geo.features.forEach(function (f) {
      var d = byCode[f.properties.code];
      label[f.properties.code] = d ? name(d) : f.properties.name;
      roomy[f.properties.code] = width(f.geometry) > 0.13;
    });
    init("chart-map", {
      tooltip: Object.assign({}, base.tooltip, {
        trigger: "item",
        formatter: function (p) {
          var d = byCode[p.name];
          if (!d) return escapeHtml(label[p.name] || p.name);
          return "<b>" + escapeHtml(zh ? d.name : d.name_en || d.name) + "</b>" +
            row(text.score, d.score === null ? text.no_score : decimal(d.score)) +
            row(text.rank, d.rank === null ? "—" : String(d.rank)) +
            row(text.located_rows, count(d.located_rows)) +
            row(text.located_failed, count(d.located_failed)) +
            (d.score_basis && text["basis_" + d.score_basis] ? row(text.score_basis, text["basis_" + d.score_basis]) : "");
        },
      }),
      visualMap: {
        type: "continuous",
        min: range[0],
        max: range[1],
        calculable: false,
        orient: "vertical",
        left: 8,
        bottom: 12,
        itemHeight: 120,
        itemWidth: 12,
        text: [text.high, text.low],
        textStyle: { color: MUTED, fontFamily: FONT },
        inRange: { color: SCALE },
      },
      series: [
        {
          type: "map",
          map: "shanghai",
          nameProperty: "code",
          layoutCenter: ["54%", "50%"],
          layoutSize: "98%",
          aspectScale: 0.86,
          roam: false,
          selectedMode: false,
          labelLayout: { hideOverlap: true },
          data: figures.districts.map(function (d) {
            // the small central districts are named by the tooltip and the ranking, not on the map
            var shown = { show: !!roomy[d.code], color: d.score === null ? INK : "#0b1a33" };
            return { name: d.code, value: d.score === null ? "-" : d.score, label: shown };
          }),
          itemStyle: { areaColor: GREY, borderColor: "rgba(4, 16, 40, 0.9)", borderWidth: 1 },
          emphasis: {
            itemStyle: { areaColor: "#ffffff", borderColor: CYAN, borderWidth: 1.5 },
            label: { color: "#0b1a33", fontWeight: "bold" },
          },
          label: {
            show: true,
            color: "#0b1a33",
            fontFamily: FONT,
            fontSize: 11,
            formatter: function (p) {
              var shown = label[p.name] || p.name;
              return zh ? shown.replace(/(新区|区)$/, "") : shown.replace(/ New Area$/, "");
            },
          },
        },
      ],
    });
  }

  function radarRadius() {
    // leave room for the labels beside the radar, which ECharts draws outside its radius
    var element = document.getElementById("chart-dimensions");
    if (!element) return "55%";
    return Math.max(40, Math.min(element.clientWidth * 0.23, element.clientHeight * 0.36));
  }

  function dimensions() {
    var all = figures.dimensions;
    // a dimension nobody checked is left off the radar (drawn at 0 it would read as failing) and
    // named under it instead; with fewer than three measured there is no shape to draw
    var items = all.filter(function (d) { return d.score !== null; });
    var missing = all.filter(function (d) { return d.score === null; });
    var shape = items.length >= 3;
    if (!shape) {
      items = all;
      missing = [];
    }
    function label(d) { return zh ? d.label : d.label_en || d.label; }
    init("chart-dimensions", {
      tooltip: Object.assign({}, base.tooltip, {
        trigger: "item",
        formatter: function () {
          return all.map(function (d) { return row(label(d), decimal(d.score)); }).join("");
        },
      }),
      graphic: missing.length
        ? [{
            type: "text",
            left: 4,
            bottom: 2,
            style: {
              text: text.no_score + (zh ? "：" : ": ") + missing.map(label).join(zh ? "、" : ", "),
              fill: MUTED,
              font: "12px " + FONT,
            },
          }]
        : [],
      radar: {
        center: ["50%", "52%"],
        radius: radarRadius(),
        splitNumber: 4,
        indicator: items.map(function (d) {
          return { name: label(d) + " " + decimal(d.score), max: 100, min: 0 };
        }),
        axisName: { color: INK, fontFamily: FONT, fontSize: 12 },
        splitLine: { lineStyle: { color: LINE } },
        splitArea: { areaStyle: { color: ["rgba(56,214,255,0.02)", "rgba(56,214,255,0.06)"] } },
        axisLine: { lineStyle: { color: LINE } },
      },
      series: [
        {
          type: "radar",
          symbolSize: 5,
          data: !shape ? [] : [
            {
              value: items.map(function (d) { return d.score; }),
              areaStyle: { color: "rgba(56, 214, 255, 0.28)" },
              lineStyle: { color: CYAN, width: 2 },
              itemStyle: { color: CYAN },
            },
          ],
        },
      ],
    });
  }

  function spatial() {
    var s = figures.spatial;
    if (!s || !s.checked) {
      // nothing checked: no rate to draw, the figures beside it say so
      var element = document.getElementById("chart-spatial");
      if (element) element.parentNode.classList.add("no-gauge");
      return;
    }
    var rate = (s.passed / s.checked) * 100;
    init("chart-spatial", {
      series: [
        {
          type: "gauge",
          startAngle: 210,
          endAngle: -30,
          min: 0,
          max: 100,
          radius: "92%",
          center: ["50%", "58%"],
          progress: { show: true, width: 12, itemStyle: { color: CYAN } },
          axisLine: { lineStyle: { width: 12, color: [[1, "rgba(120,170,255,0.15)"]] } },
          axisTick: { show: false },
          splitLine: { show: false },
          axisLabel: { show: false },
          pointer: { show: false },
          anchor: { show: false },
          title: { offsetCenter: [0, "38%"], color: MUTED, fontFamily: FONT, fontSize: 12 },
          detail: {
            valueAnimation: false,
            offsetCenter: [0, "-2%"],
            color: INK,
            fontFamily: FONT,
            fontSize: 20,
            fontWeight: "bold",
            // as the page's figure beside it: a third decimal where the rate is that close to 100 %
            formatter: function () { return rate.toFixed(rate >= 99.9 ? 3 : 2) + "%"; },
          },
          data: [{ value: rate, name: text.pass_rate }],
        },
      ],
    });
  }

  // --- charts or tables --------------------------------------------------------------------------

  function viewSwitch() {
    var button = document.getElementById("cockpit-view");
    if (!button) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var tables = root.classList.toggle("show-tables");
      button.setAttribute("aria-pressed", tables ? "true" : "false");
      button.textContent = tables ? button.dataset.charts : button.dataset.tables;
      if (!tables) charts.forEach(function (chart) { chart.resize(); });
    });
  }

  function resizeLater() {
    var pending = null;
    window.addEventListener("resize", function () {
      if (pending) window.clearTimeout(pending);
      pending = window.setTimeout(function () {
        charts.forEach(function (chart) { chart.resize(); });
      }, 150);
    });
  }

  root.classList.add("has-charts");
  trend();
  ranking("chart-departments", figures.departments);
  ranking("chart-districts", figures.districts);
  dimensions();
  spatial();
  viewSwitch();
  resizeLater();
  fetch(data.geo, { credentials: "same-origin" })
    .then(function (response) {
      if (!response.ok) throw new Error("district outlines: HTTP " + response.status);
      return response.json();
    })
    .then(function (geo) {
      districtMap(geo);
      root.classList.add("charts-ready");
    })
    .catch(function (error) {
      root.classList.add("charts-ready", "map-failed");
      if (window.console) window.console.warn(error);
    });
})();
