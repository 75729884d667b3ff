/* iam-tighten report.html: sorting, filtering, print. The page is complete without it. */
(function () {
  'use strict';
  var doc = document;
  var each = function (list, fn) { Array.prototype.forEach.call(list, fn); };
  doc.documentElement.classList.add('js');

  // --- Sorting: click a column header of a table.sortable. ---
  function key(row, col) {
    var c = row.cells[col];
    if (!c) { return ''; }
    var v = c.getAttribute('data-v');
    if (v !== null) { return v; }
    var t = c.textContent.trim();
    // "12,345" sorts as a number.
    return /^-?[0-9][0-9,]*(\.[0-9]+)?$/.test(t) ? t.replace(/,/g, '') : t.toLowerCase();
  }
  function compare(a, b) {
    if (a !== '' && b !== '' && isFinite(a) && isFinite(b)) { return Number(a) - Number(b); }
    return a < b ? -1 : (a > b ? 1 : 0);
  }
  function sortBy(table, th) {
    var col = th.cellIndex;
    var now = th.getAttribute('aria-sort');
    var dir = now === 'ascending' ? 'descending'
      : now === 'descending' ? 'ascending'
      : (th.getAttribute('data-first') === 'desc' ? 'descending' : 'ascending');
    each(table.tHead.rows[0].cells, function (h) { h.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', dir);
    var sign = dir === 'ascending' ? 1 : -1;
    each(table.tBodies, function (tb) {
      var rows = Array.prototype.map.call(tb.rows, function (r, i) { return { r: r, k: key(r, col), i: i }; });
      rows.sort(function (x, y) { return sign * compare(x.k, y.k) || x.i - y.i; });
      var frag = doc.createDocumentFragment();
      rows.forEach(function (o) { frag.appendChild(o.r); });
      tb.appendChild(frag);
    });
  }
  each(doc.querySelectorAll('table.sortable'), function (table) {
    if (!table.tHead) { return; }
    each(table.tHead.rows[0].cells, function (th) {
      if (th.hasAttribute('data-nosort')) { return; }
      var b = doc.createElement('button');
      b.type = 'button';
      b.className = 'sort';
      b.title = 'Sort by this column';
      while (th.firstChild) { b.appendChild(th.firstChild); }
      th.appendChild(b);
      b.addEventListener('click', function () { sortBy(table, th); });
    });
  });

  // --- Filtering: a .filters box names its table in data-for. ---
  each(doc.querySelectorAll('.filters'), function (box) {
    var table = doc.getElementById(box.getAttribute('data-for'));
    if (!table) { return; }
    var rows = [];
    each(table.tBodies, function (tb) {
      each(tb.rows, function (r) { rows.push({ r: r, t: r.textContent.toLowerCase() }); });
    });
    var text = box.querySelector('input[type="search"]');
    var selects = box.querySelectorAll('select');
    var out = box.querySelector('output');
    function apply() {
      var q = text ? text.value.trim().toLowerCase() : '';
      var shown = 0;
      rows.forEach(function (o) {
        var ok = q === '' || o.t.indexOf(q) !== -1;
        each(selects, function (s) {
          if (ok && s.value !== '' && o.r.getAttribute('data-' + s.name) !== s.value) { ok = false; }
        });
        o.r.hidden = !ok;
        if (ok) { shown += 1; }
      });
      if (out) {
        out.textContent = shown === rows.length
          ? 'Showing all ' + rows.length + ' rows'
          : 'Showing ' + shown + ' of ' + rows.length + ' rows';
      }
    }
    box.addEventListener('input', apply);
    box.addEventListener('change', apply);
    var reset = box.querySelector('button[type="reset"]');
    if (reset) {
      reset.addEventListener('click', function (e) {
        e.preventDefault();
        if (text) { text.value = ''; }
        each(selects, function (s) { s.value = ''; });
        apply();
      });
    }
    apply();
  });

  // --- Expand / collapse all principal sections. ---
  each(doc.querySelectorAll('.tools[data-details]'), function (tools) {
    var scope = doc.getElementById(tools.getAttribute('data-details'));
    each(tools.querySelectorAll('button[data-open]'), function (b) {
      b.addEventListener('click', function () {
        var open = b.getAttribute('data-open') === 'true';
        each(scope.querySelectorAll('details.principal'), function (d) { d.open = open; });
      });
    });
  });

  // --- Open a principal section when a link points at it. ---
  function reveal() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id ? doc.getElementById(id) : null;
    if (el && el.tagName === 'DETAILS' && !el.open) { el.open = true; el.scrollIntoView(); }
  }
  window.addEventListener('hashchange', reveal);
  reveal();

  // --- Print: every <details> open, every row visible; restored afterwards. ---
  var opened = [];
  var unhidden = [];
  window.addEventListener('beforeprint', function () {
    each(doc.querySelectorAll('details:not([open])'), function (d) { d.open = true; opened.push(d); });
    each(doc.querySelectorAll('tr[hidden]'), function (r) { r.hidden = false; unhidden.push(r); });
  });
  window.addEventListener('afterprint', function () {
    opened.forEach(function (d) { d.open = false; });
    unhidden.forEach(function (r) { r.hidden = true; });
    opened = [];
    unhidden = [];
  });
}());
