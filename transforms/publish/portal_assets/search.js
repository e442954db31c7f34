// The search box: every unit of the release (units/search.js), found by name without regard
// to case or diacritics, or by code.
(function () {
  "use strict";
  var box = document.getElementById("search");
  var list = document.getElementById("search-results");
  var base = box.getAttribute("data-base") || "";
  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }
  var levels = {
    country: ["stát", "country"], region: ["kraj", "region"],
    district: ["okres", "district"], municipality: ["obec", "municipality"]
  };
  var text = window.opencrimeText || function (cs) { return cs; };
  var units = (window.OPENCRIME_UNITS || []).map(function (u) {
    return { level: u[0], code: u[1], name: u[2], parent: u[3], key: fold(u[2]) };
  });
  function find() {
    var q = fold(box.value.trim());
    list.textContent = "";
    if (q.length < 2 && !/^\d+$/.test(q)) { return; }
    var found = units.filter(function (u) {
      return u.key.indexOf(q) !== -1 || u.code === q;
    });
    found.sort(function (a, b) {
      return (b.key.indexOf(q) === 0) - (a.key.indexOf(q) === 0) || a.name.localeCompare(b.name, "cs");
    });
    found.slice(0, 20).forEach(function (u) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = base + "units/" + u.level + "-" + u.code + ".html";
      a.textContent = u.name;
      li.appendChild(a);
      var level = text(levels[u.level][0], levels[u.level][1]);
      li.appendChild(document.createTextNode(" (" + level + (u.parent ? ", " + u.parent : "") + ")"));
      list.appendChild(li);
    });
    document.getElementById("search-count").textContent = String(found.length);
  }
  box.addEventListener("input", find);
  document.addEventListener("opencrime:language", find);
  box.form && box.form.addEventListener("submit", function (e) {
    e.preventDefault();
    var first = list.querySelector("a");
    if (first) { window.location.href = first.href; }
  });
})();
