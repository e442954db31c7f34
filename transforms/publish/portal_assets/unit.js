// A unit's page: the figures of the chosen period, the chosen offence's trend, the map.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("unit-data").textContent);
  var counts = data.counts.map(function (row) { return row.split(","); });
  var rates = data.rates.map(function (row) { return row ? row.split(",") : null; });
  var body = document.querySelector("#figures tbody");
  var text = window.opencrimeText || function (cs) { return cs; };

  function cell(text, tag) {
    var el = document.createElement(tag || "td");
    el.textContent = text;
    return el;
  }

  function showPeriod(p) {
    body.textContent = "";
    data.offences.forEach(function (o, k) {
      var tr = document.createElement("tr");
      tr.className = o[1];
      var th = cell(text(o[2], o[3]), "th");
      th.scope = "row";
      tr.appendChild(th);
      var value = counts[k][p];
      var td;
      if (value === "") {
        td = document.createElement("td");
        var abbr = document.createElement("abbr");
        abbr.title = text(data.hiddenReason[0], data.hiddenReason[1]);
        abbr.textContent = text(data.hiddenWord[0], data.hiddenWord[1]);
        td.appendChild(abbr);
      } else {
        td = cell(value === "-2" ? "\u2013" : Number(value).toLocaleString("cs-CZ"));
      }
      tr.appendChild(td);
      tr.appendChild(cell(rates[k] ? rates[k][p] : ""));
      body.appendChild(tr);
    });
  }

  var periods = document.getElementById("period");
  periods.addEventListener("change", function (e) {
    showPeriod(Number(e.target.value));
  });
  document.addEventListener("opencrime:language", function () {
    showPeriod(Number(periods.value));
  });
  document.getElementById("trend-offence").addEventListener("change", function (e) {
    document.querySelectorAll("figure.trend").forEach(function (f) {
      f.hidden = f.getAttribute("data-offence") !== e.target.value;
    });
  });

  if (!data.map || !data.map.areas || typeof L === "undefined") { return; }
  var map = L.map("map", { attributionControl: false });
  var layer = L.geoJSON(data.map.areas, {
    style: function (f) {
      return { color: f.properties.own ? "#b41e1e" : "#555", weight: f.properties.own ? 3 : 1,
               fillOpacity: f.properties.own ? 0.15 : 0.05 };
    },
    onEachFeature: function (f, l) {
      var a = document.createElement("a");
      a.href = f.properties.href;
      a.textContent = f.properties.name;
      l.bindPopup(a);
    }
  }).addTo(map);
  var own = layer.getLayers().filter(function (l) { return l.feature.properties.own; })[0];
  map.fitBounds((own || layer).getBounds());  // before the points: they need a view
  data.map.points.forEach(function (p) {
    L.circleMarker([p[1], p[0]], { radius: 3 + Math.min(8, Math.sqrt(p[3])), color: "#b41e1e",
                                    weight: 1, fillOpacity: 0.5 })
      .bindPopup(p[2] + ": " + p[3]).addTo(map);
  });
  document.getElementById("map").setAttribute("data-points", String(data.map.points.length));
})();
