/* kubeharden report: search and status filters. Without this script every
   check is shown; with it, the state lives in the URL hash
   (#status=fail,warn&q=kubelet) so a filtered view can be linked. */
(function () {
  "use strict";
  var bar = document.getElementById("filters");
  var list = document.getElementById("check-list");
  if (!bar || !list) { return; }
  bar.hidden = false;

  var rows = Array.prototype.slice.call(list.querySelectorAll("details.check"));
  var texts = rows.map(function (r) { return r.textContent.toLowerCase(); });
  var nodeRows = Array.prototype.slice.call(document.querySelectorAll("tr.node-row"));
  var nodeTexts = nodeRows.map(function (r) { return r.textContent.toLowerCase(); });
  var chips = Array.prototype.slice.call(bar.querySelectorAll(".chip"));
  var q = document.getElementById("q");
  var shown = document.getElementById("shown");
  var noMatch = document.getElementById("no-match");
  var state = { status: [], q: "" };

  function parseHash() {
    var h = decodeURIComponent(location.hash.replace(/^#/, ""));
    var s = { status: [], q: "" };
    if (h.indexOf("=") < 0) { return null; }
    h.split("&").forEach(function (part) {
      var i = part.indexOf("=");
      if (i < 0) { return; }
      var k = part.slice(0, i), v = part.slice(i + 1);
      if (k === "status") { s.status = v.split(",").filter(Boolean); }
      if (k === "q") { s.q = v; }
    });
    return s;
  }

  function writeHash() {
    var parts = [];
    if (state.status.length) { parts.push("status=" + state.status.join(",")); }
    if (state.q) { parts.push("q=" + encodeURIComponent(state.q)); }
    var url = parts.length ? "#" + parts.join("&") : location.pathname + location.search;
    if (history.replaceState) { history.replaceState(null, "", url); }
  }

  /* Node sets a row describes without listing names ("every worker node")
     match a search for a node that belongs to them. */
  function setsFor(needle) {
    var sets = {};
    if (!needle) { return sets; }
    nodeRows.forEach(function (r) {
      var name = (r.getAttribute("data-node") || "").toLowerCase();
      if (r.getAttribute("data-ok") !== "1" || name.indexOf(needle) < 0) { return; }
      sets.all = true;
      (r.getAttribute("data-roles") || "").split(", ").forEach(function (role) {
        if (role) { sets["role:" + role] = true; }
      });
    });
    return sets;
  }

  function apply() {
    var needle = state.q.trim().toLowerCase();
    var sets = setsFor(needle);
    var n = 0;
    rows.forEach(function (r, i) {
      var okStatus = !state.status.length || state.status.indexOf(r.getAttribute("data-status")) >= 0;
      var okText = !needle || texts[i].indexOf(needle) >= 0 ||
        (r.getAttribute("data-sets") || "").split(" ").some(function (s) { return s && sets[s]; });
      var show = okStatus && okText;
      r.hidden = !show;
      if (show) { n += 1; }
    });
    var nodesShown = 0;
    nodeRows.forEach(function (r, i) {
      r.hidden = !!needle && nodeTexts[i].indexOf(needle) < 0;
      if (!r.hidden) { nodesShown += 1; }
    });
    var noNode = document.getElementById("no-node");
    if (noNode) { noNode.hidden = nodesShown > 0 || !nodeRows.length; }
    chips.forEach(function (c) {
      c.setAttribute("aria-pressed", state.status.indexOf(c.getAttribute("data-status")) >= 0 ? "true" : "false");
    });
    if (q.value !== state.q) { q.value = state.q; }
    shown.textContent = n + " of " + rows.length + " checks shown";
    noMatch.hidden = n > 0;
    document.body.setAttribute("data-shown", String(n));
    document.body.setAttribute("data-filter", state.status.join(","));
  }

  function set(status, text) {
    state.status = status;
    state.q = text;
    writeHash();
    apply();
  }

  chips.forEach(function (c) {
    c.addEventListener("click", function () {
      var s = c.getAttribute("data-status");
      var next = state.status.slice();
      var i = next.indexOf(s);
      if (i >= 0) { next.splice(i, 1); } else { next.push(s); }
      set(next, state.q);
    });
  });
  document.getElementById("problems").addEventListener("click", function () {
    set(["fail", "error", "warn"], state.q);
  });
  document.getElementById("clear").addEventListener("click", function () { set([], ""); });
  document.getElementById("expand").addEventListener("click", function () {
    var visible = rows.filter(function (r) { return !r.hidden; });
    var open = visible.some(function (r) { return !r.open; });
    visible.forEach(function (r) { r.open = open; });
  });
  var timer = null;
  q.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { set(state.status, q.value); }, 120);
  });
  Array.prototype.forEach.call(document.querySelectorAll("a.tile"), function (a) {
    a.addEventListener("click", function (e) {
      e.preventDefault();
      set([a.getAttribute("data-filter")], "");
      document.getElementById("checks").scrollIntoView();
    });
  });
  window.addEventListener("hashchange", function () {
    var s = parseHash();
    if (s) { state = s; apply(); }
  });

  /* Print the evidence of every shown check that needs attention; passes,
     skips and manual checks print as one line each. */
  var attention = ["fail", "error", "warn", "waived"];
  var opened = [];
  window.addEventListener("beforeprint", function () {
    opened = rows.filter(function (r) {
      return !r.hidden && !r.open && attention.indexOf(r.getAttribute("data-status")) >= 0;
    });
    opened.forEach(function (r) { r.open = true; });
  });
  window.addEventListener("afterprint", function () {
    opened.forEach(function (r) { r.open = false; });
    opened = [];
  });

  var initial = parseHash();
  if (initial) { state = initial; }
  apply();
  document.documentElement.setAttribute("data-ready", "1");
})();

/* Cluster objects: one search over every offending object's row. */
(function () {
  "use strict";
  var box = document.querySelector("input.obj-search");
  if (!box) { return; }
  box.hidden = false;
  var rows = Array.prototype.slice.call(document.querySelectorAll("#objects tr.obj-row"));
  var texts = rows.map(function (r) { return r.textContent.toLowerCase(); });
  box.addEventListener("input", function () {
    var q = box.value.trim().toLowerCase();
    rows.forEach(function (r, i) {
      var hit = !q || texts[i].indexOf(q) >= 0;
      r.hidden = !hit;
      if (hit && q) {
        for (var d = r.parentElement; d; d = d.parentElement) {
          if (d.tagName === "DETAILS") { d.open = true; }
        }
      }
    });
  });
})();
