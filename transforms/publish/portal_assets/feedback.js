// A unit page's feedback form: posts a report to the intake beside which the portal is served
// (transforms/publish/feedback_form.py). Opened from disk it stays hidden and the page says
// where reports go; a copy that cannot take them says so when a report is sent.
(function () {
  "use strict";
  var form = document.getElementById("feedback");
  var elsewhere = document.getElementById("feedback-elsewhere");
  if (!form || location.protocol === "file:") { return; }
  var text = window.opencrimeText || function (cs) { return cs; };
  var status = document.getElementById("feedback-status");
  form.hidden = false;
  elsewhere.hidden = true;

  // how many reports were made about this unit and answered: counts only, from the intake
  var counts = document.getElementById("feedback-counts");
  fetch(counts.dataset.counts).then(function (response) {
    return response.ok ? response.json() : null;
  }).then(function (found) {
    if (!found) { return; }
    counts.textContent = text(
      "Podněty k této jednotce: " + found.reports + ", z nich zodpovězeno " + found.answered +
        ", údaj později opraven u " + found.revised + ".",
      "Reports about this unit: " + found.reports + ", of them answered " + found.answered +
        ", the figure corrected later for " + found.revised + ".");
    counts.hidden = false;
  }).catch(function () { return null; });

  function value(id) { return document.getElementById(id).value.trim(); }

  function say(cs, en) { status.textContent = text(cs, en); }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var report = {
      release: form.dataset.release,
      unit: form.dataset.unit,
      month: value("feedback-month"),
      kind: value("feedback-kind"),
      text: value("feedback-text")
    };
    if (value("feedback-group")) { report.offence_group = value("feedback-group"); }
    if (value("feedback-class")) { report.point_class = value("feedback-class"); }
    say("Odesílám…", "Sending…");
    fetch(form.dataset.intake, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(report)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (response.status === 201 || response.status === 200) {
          say("Děkujeme, podnět č. " + body.id + " je přijat.",
              "Thank you, report no. " + body.id + " is received.");
          document.getElementById("feedback-text").value = "";
        } else if (body.refused) {
          say("Nepřijato: " + body.refused, "Not taken: " + body.refused);
        } else {
          elsewhere.hidden = false;
          say("Tato kopie portálu podněty nepřijímá.", "This copy of the portal takes no reports.");
        }
      });
    }).catch(function () {
      elsewhere.hidden = false;
      say("Server není dostupný.", "The server cannot be reached.");
    });
  });
}());
