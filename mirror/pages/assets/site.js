// pypi-mirror's pages: the table filter and the copy buttons. The pages are
// complete without this file; it only reveals the controls it drives.
(function () {
  "use strict";

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain HTTP on an address other than localhost has no Clipboard API.
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "offscreen";
      document.body.appendChild(area);
      area.select();
      var done = false;
      try { done = document.execCommand("copy"); } catch (e) { done = false; }
      document.body.removeChild(area);
      if (done) { resolve(); } else { reject(new Error("copy refused")); }
    });
  }

  function setUpCopyButtons() {
    var buttons = document.querySelectorAll("button[data-copy]");
    Array.prototype.forEach.call(buttons, function (button) {
      var source = document.getElementById(button.getAttribute("data-copy"));
      if (!source) { return; }
      button.hidden = false;
      button.addEventListener("click", function () {
        copyText(source.textContent.trim()).then(function () {
          say(button, "Copied", "done");
        }, function () {
          var range = document.createRange();
          range.selectNodeContents(source);
          var selection = window.getSelection();
          selection.removeAllRanges();
          selection.addRange(range);
          say(button, "Selected: press Ctrl+C", "");
        });
      });
    });
  }

  function say(button, text, className) {
    button.textContent = text;
    button.className = "copy " + className;
    window.setTimeout(function () { button.textContent = "Copy"; button.className = "copy"; }, 2000);
  }

  // PEP 503 normalization, so "Foo_Bar" finds foo-bar.
  function normalize(text) {
    return text.trim().toLowerCase().replace(/[-_.]+/g, "-");
  }

  function setUpFilter() {
    var form = document.getElementById("filter-form");
    var table = document.getElementById("project-table");
    if (!form || !table) { return; }
    var input = document.getElementById("filter");
    var vulnerable = document.getElementById("filter-vulnerable");
    var count = document.getElementById("filter-count");
    // Read once: at thousands of rows, touching the DOM per keystroke is the cost.
    var blocks = Array.prototype.slice.call(table.tBodies);
    var rows = [], names = [], flagged = [], blockOf = [];
    blocks.forEach(function (block, b) {
      Array.prototype.forEach.call(block.rows, function (row) {
        rows.push(row);
        names.push(row.cells[0].textContent);
        flagged.push(row.classList.contains("vulnerable"));
        blockOf.push(b);
      });
    });
    var shown = rows.map(function () { return true; });
    var blockShown = blocks.map(function () { return true; });

    function apply() {
      var query = normalize(input.value);
      var onlyVulnerable = vulnerable ? vulnerable.checked : false;
      var visible = 0;
      var inBlock = blocks.map(function () { return 0; });
      for (var i = 0; i < rows.length; i++) {
        var show = names[i].indexOf(query) !== -1 && (!onlyVulnerable || flagged[i]);
        if (show !== shown[i]) {
          rows[i].hidden = !show;
          shown[i] = show;
        }
        if (show) { visible++; inBlock[blockOf[i]]++; }
      }
      // An empty block goes away at once: an off-screen one would keep its last size until scrolled to.
      for (var b = 0; b < blocks.length; b++) {
        if ((inBlock[b] > 0) !== blockShown[b]) {
          blockShown[b] = inBlock[b] > 0;
          blocks[b].hidden = !blockShown[b];
        }
      }
      count.textContent = visible + " of " + rows.length + " projects";
    }

    input.addEventListener("input", apply);
    if (vulnerable) { vulnerable.addEventListener("change", apply); }
    form.addEventListener("submit", function (event) { event.preventDefault(); });
    form.hidden = false;
    if (input.value || (vulnerable && vulnerable.checked)) { apply(); }
  }

  setUpCopyButtons();
  setUpFilter();
}());
