// The release page's national map: municipalities coloured by the chosen period, offence and
// measure, a legend, and the chosen month's point classes. Data come as scripts from map/
// (loaded on demand by <script> tags, so the page works from disk too).
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("map-config").textContent);
  var areas = window.OPENCRIME_MAP_AREAS;
  if (!areas || typeof L === "undefined") { return; }
  var period = document.getElementById("map-period");
  var offence = document.getElementById("map-offence");
  var measure = document.getElementById("map-measure");
  var withPoints = document.getElementById("map-points");
  var summary = document.getElementById("map-summary");
  var legend = document.getElementById("map-legend");
  var COLOURS = ["#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15"];
  var HIDDEN = "#bdbdbd", ZERO = "#ffffff", NO_RATE = "#dfe6ee";
  var t = window.opencrimeText || function (cs) { return cs; };

  var map = L.map("map", { attributionControl: false, preferCanvas: true });
  var layer = L.geoJSON(areas, { style: { color: "#666", weight: 0.6, fillOpacity: 0.85 } })
    .addTo(map);
  map.fitBounds(layer.getBounds());
  var features = layer.getLayers();  // in the order of the figures' arrays
  var points = L.layerGroup().addTo(map);

  function load(folder, prefix, key, done) {
    var store = window[prefix];
    if (store && store[key] !== undefined) { done(store[key]); return; }
    var script = document.createElement("script");
    script.src = config.folder + "/" + folder + "-" + key + ".js";
    script.onload = function () { done(window[prefix][key]); };
    script.onerror = function () { done(null); };
    document.head.appendChild(script);
  }

  function breaks(values) {
    // five classes of equal numbers of municipalities, over the positive published values
    var sorted = values.filter(function (v) { return v > 0; }).sort(function (a, b) { return a - b; });
    var cuts = [];
    for (var i = 1; i < COLOURS.length; i++) {
      var v = sorted[Math.floor(i * sorted.length / COLOURS.length)];
      if (v !== undefined && cuts.indexOf(v) < 0) { cuts.push(v); }
    }
    return { cuts: cuts, top: sorted.length ? sorted[sorted.length - 1] : 0 };
  }

  function classOf(value, cuts) {
    var k = 0;
    while (k < cuts.length && value >= cuts[k]) { k++; }
    return k;
  }

  function number(v) { return v.toLocaleString("cs-CZ"); }

  function drawLegend(scale, asRate) {
    legend.textContent = "";
    function key(colour, text) {
      var li = document.createElement("li");
      var swatch = document.createElement("i");
      swatch.style.background = colour;
      li.appendChild(swatch);
      li.appendChild(document.createTextNode(text));
      legend.appendChild(li);
    }
    var cuts = scale.cuts;
    if (scale.top > 0) {
      for (var k = 0; k <= cuts.length; k++) {
        var text = cuts.length === 0 ? t("více než 0", "above 0") :
          k === 0 ? t("pod ", "below ") + number(cuts[0]) :
          k === cuts.length ? number(cuts[k - 1]) + t(" a více", " and more") :
          number(cuts[k - 1]) + t(" až pod ", " to below ") + number(cuts[k]);
        key(COLOURS[k], text);
      }
    }
    key(ZERO, "0");
    if (asRate) {
      key(NO_RATE, t("bez sazby: méně než " + number(config.minPopulation) + " obyvatel",
                     "no rate: fewer than " + number(config.minPopulation) + " inhabitants"));
    }
    key(HIDDEN, t(config.hiddenReason[0], config.hiddenReason[1]));
  }

  function draw() {
    var p = period.value, o = offence.value, asRate = measure.value === "rate";
    load("figures", "OPENCRIME_MAP_FIGURES", p, function (figures) {
      if (!figures) { summary.textContent = t("data se nepodařilo načíst", "data not loaded"); return; }
      var counts = figures.count[o], rates = figures.rate[o];
      var values = asRate ? rates : counts;
      var scale = breaks(values.filter(function (v) { return v !== null; }));
      var shown = 0, hidden = 0;
      features.forEach(function (f, i) {
        var c = counts[i], v = values[i], fill;
        if (c === null) { fill = HIDDEN; hidden++; }
        else if (c === 0) { fill = ZERO; shown++; }
        else if (v === null) { fill = NO_RATE; shown++; }
        else { fill = COLOURS[classOf(v, scale.cuts)]; shown++; }
        f.setStyle({ fillColor: fill });
        var name = f.feature.properties.name;
        var text = c === null ? t("skryto", "hidden") :
          number(c) + (rates[i] === null ? "" :
                       " (" + number(rates[i]) + t(" na 1 000 obyvatel)", " per 1,000 inhabitants)"));
        f.bindPopup('<a href="' + f.feature.properties.href + '">' + name.replace(/</g, "&lt;") +
                    "</a>: " + text);
      });
      summary.textContent = t(shown + " obcí zobrazeno, " + hidden + " skryto",
                              shown + " municipalities shown, " + hidden + " hidden");
      summary.setAttribute("data-shown", String(shown));
      summary.setAttribute("data-hidden", String(hidden));
      drawLegend(scale, asRate);
    });
    drawPoints();
  }

  function drawPoints() {
    points.clearLayers();
    var month = period.value;
    var o = offence.value;
    withPoints.disabled = config.pointMonths.indexOf(month) < 0;
    document.getElementById("map").setAttribute("data-points", "0");
    if (!withPoints.checked || withPoints.disabled) { return; }
    load("points", "OPENCRIME_MAP_POINTS", month, function (classes) {
      var drawn = 0, records = 0;
      (classes || []).forEach(function (c) {
        if (o !== config.allOffences && String(c[2]) !== o) { return; }
        drawn++;
        records += c[3];
        L.circleMarker([c[1], c[0]], { radius: 3 + Math.min(8, Math.sqrt(c[3])), color: "#222",
                                       weight: 1, fillColor: "#ffd33d", fillOpacity: 0.8 })
          .bindPopup(t.apply(null, config.groupNames[String(c[2])]) + ": " + c[3] +
                     t(" záznamů", " records"))
          .addTo(points);
      });
      var box = document.getElementById("map");
      box.setAttribute("data-points", String(drawn));
      box.setAttribute("data-records", String(records));
    });
  }

  [period, offence, measure].forEach(function (s) { s.addEventListener("change", draw); });
  document.addEventListener("opencrime:language", draw);
  withPoints.addEventListener("change", drawPoints);
  draw();
})();
