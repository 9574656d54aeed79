// Sorts the node table by the clicked column; a second click reverses it.
// Cells carry their sort key in data-v when their text is not it.
(function () {
  var table = document.getElementById("nodes");
  if (!table) return;
  var heads = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (th, col) {
    th.addEventListener("click", function () {
      var asc = th.getAttribute("aria-sort") !== "ascending";
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      var num = th.dataset.type === "num";
      var key = function (tr) {
        var c = tr.cells[col];
        var v = c.dataset.v !== undefined ? c.dataset.v : c.textContent;
        if (!num) return v.toLowerCase();
        var f = parseFloat(v);
        return isNaN(f) ? -Infinity : f;
      };
      var body = table.tBodies[0];
      var rows = Array.prototype.map.call(body.rows, function (tr, i) { return [key(tr), i, tr]; });
      rows.sort(function (a, b) {
        var d = a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1];
        return asc ? d : -d;
      });
      rows.forEach(function (r) { body.appendChild(r[2]); });
    });
  });
})();
