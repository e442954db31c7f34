// A release page's list of the figures that changed in this release after a report named them
// (GET /opencrime/api/feedback/revised, README "Feedback to the police"). The reports are no
// input of a release, so the list is read from the intake beside which the portal is served;
// opened from disk or from a copy elsewhere, the section stays hidden.
(function () {
  "use strict";
  var section = document.getElementById("revised-after-report");
  if (!section || location.protocol === "file:") { return; }
  var text = window.opencrimeText || function (cs) { return cs; };
  fetch(section.dataset.revised).then(function (response) {
    return response.ok ? response.json() : null;
  }).then(function (found) {
    if (!found || !found.figures.length) { return; }
    var list = section.querySelector("ul");
    var units = {};  // the search index of this release names each unit and its page
    (window.OPENCRIME_UNITS || []).forEach(function (u) { units[u[1]] = u; });
    found.figures.forEach(function (figure) {
      var item = document.createElement("li");
      var unit = units[figure.unit];
      var link = document.createElement("a");
      link.href = unit ? "units/" + unit[0] + "-" + unit[1] + ".html" : "#";
      link.textContent = unit ? unit[2] : figure.unit;
      item.appendChild(link);
      item.appendChild(document.createTextNode(
        ", " + figure.month + (figure.offence_group ? ", " + figure.offence_group : "") + ": " +
        figure.before + " → " + figure.now + " " + text(
          "(podnět k vydání " + figure.reported_in + ")",
          "(reported in release " + figure.reported_in + ")")));
      list.appendChild(item);
    });
    section.hidden = false;
  }).catch(function () { return null; });
}());
