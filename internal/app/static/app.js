// Small enhancements; every page works without them.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // Print buttons (the card and the summary): no inline handlers under the CSP.
  document.querySelectorAll("[data-print]").forEach(function (b) {
    b.addEventListener("click", function () { window.print(); });
  });
  // After a search, take keyboard and screen-reader focus to the results.
  var results = document.getElementById("results-title");
  if (results) { results.focus(); }
  // The OAuth callback's continue page moves on by itself.
  var cont = document.getElementById("continue");
  if (cont) { window.location.assign(cont.getAttribute("href")); }
});
