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
    var blocks = Array.prototype.slice.call(table.tBodies).map(function (block) {
      var rows = Array.prototype.slice.call(block.rows);
      return {
        element: block,
        shown: true,
        rows: rows,
        names: rows.map(function (row) { return row.cells[0].textContent; }),
        flagged: rows.map(function (row) { return row.classList.contains("vulnerable"); }),
        rowShown: rows.map(function () { return true; })
      };
    });
    var total = blocks.reduce(function (sum, block) { return sum + block.rows.length; }, 0);

    // A block with no match is hidden whole and its rows are left as they
    // were: rows change only in blocks that show, so typing and clearing
    // touch few elements even at thousands of rows.
    function apply() {
      var query = normalize(input.value);
      var onlyVulnerable = vulnerable ? vulnerable.checked : false;
      var visible = 0;
      blocks.forEach(function (block) {
        var matches = block.names.map(function (name, i) {
          return name.indexOf(query) !== -1 && (!onlyVulnerable || block.flagged[i]);
        });
        var matched = matches.filter(Boolean).length;
        visible += matched;
        if ((matched > 0) !== block.shown) {
          block.shown = matched > 0;
          block.element.hidden = !block.shown;
        }
        if (!block.shown) { return; }
        for (var i = 0; i < matches.length; i++) {
          if (matches[i] !== block.rowShown[i]) {
            block.rowShown[i] = matches[i];
            block.rows[i].hidden = !matches[i];
          }
        }
      });
      count.textContent = visible + " of " + total + " projects";
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
