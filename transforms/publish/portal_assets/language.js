// Czech by default, English on request: sets <html lang> (the stylesheet shows the texts of that
// language), swaps the texts markup cannot hold twice (data-en, data-en-<attribute>), and
// remembers the choice for the reader's next page. Loaded at the top of <body>, so the page is
// drawn in the chosen language from the start. Scripts that write text use opencrimeText(cs, en)
// and redraw on the "opencrime:language" event.
(function () {
  "use strict";
  var KEY = "opencrime-language";
  var ATTRIBUTES = ["aria-label", "placeholder", "title"];
  var root = document.documentElement;

  function remembered() {
    try { return window.localStorage.getItem(KEY); } catch (e) { return null; }
  }
  function remember(lang) {
    try { window.localStorage.setItem(KEY, lang); } catch (e) { /* private mode: this page only */ }
  }
  var asked = new URLSearchParams(window.location.search).get("lang");
  root.lang = asked === "en" || asked === "cs" ? asked : remembered() === "en" ? "en" : "cs";

  window.opencrimeText = function (cs, en) { return root.lang === "en" ? en : cs; };

  function swap(el, name, value) {
    if (name === null) { el.textContent = value; } else { el.setAttribute(name, value); }
  }
  function translate() {
    var en = root.lang === "en";
    document.querySelectorAll("[data-en]").forEach(function (el) {
      if (!el.hasAttribute("data-cs")) { el.setAttribute("data-cs", el.textContent); }
      swap(el, null, el.getAttribute(en ? "data-en" : "data-cs"));
    });
    ATTRIBUTES.forEach(function (name) {
      document.querySelectorAll("[data-en-" + name + "]").forEach(function (el) {
        if (!el.hasAttribute("data-cs-" + name)) {
          el.setAttribute("data-cs-" + name, el.getAttribute(name) || "");
        }
        swap(el, name, el.getAttribute((en ? "data-en-" : "data-cs-") + name));
      });
    });
    var button = document.getElementById("language");
    if (button) {
      button.hidden = false;
      button.textContent = en ? "Česky" : "English";
      button.lang = en ? "cs" : "en";
    }
  }
  function choose(lang) {
    root.lang = lang;
    remember(lang);
    translate();
    document.dispatchEvent(new Event("opencrime:language"));
  }
  document.addEventListener("DOMContentLoaded", function () {
    translate();
    var button = document.getElementById("language");
    if (button) {
      button.addEventListener("click", function () { choose(root.lang === "en" ? "cs" : "en"); });
    }
  });
})();
