// The insights dashboard: draws each chart from the Vega-Lite spec the page embeds as JSON,
// with the vendored vega-embed bundle (no CDN), and applies a filter as soon as it changes.
// The site's CSP forbids eval and inline styles: `ast: true` makes vega-embed run Vega's
// expression interpreter instead of generated code, and insights.css stands in for the
// stylesheet vega-embed would inject.
(function () {
  "use strict";

  function draw(box) {
    var source = document.getElementById(box.dataset.spec);
    if (!source || typeof window.vegaEmbed !== "function") return;
    var spec = JSON.parse(source.textContent);
    spec.width = "container";
    spec.autosize = { type: "fit-x", contains: "padding" };
    window.vegaEmbed(box, spec, {
      renderer: "svg",
      actions: false,
      ast: true,
      defaultStyle: false,
      tooltip: { disableDefaultStyle: true },
    }).then(function () {
      box.dataset.drawn = "true";
    }).catch(function (error) {
      box.dataset.drawn = "failed";
      box.textContent = "The chart could not be drawn; its figures are in the table below.";
      console.error(error);
    });
  }

  function start() {
    document.querySelectorAll(".chart[data-spec]").forEach(draw);
    var form = document.getElementById("insight-filters");
    if (form) {
      form.addEventListener("change", function () { form.requestSubmit(); });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
