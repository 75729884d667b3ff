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

  // --- Search. A query that looks like an action pattern (`ec2:CreateFleet`, `iam:Pass*`)
  // matches the actions a row or section holds, read from its data-actions notation
  // (`patterns [except patterns]`, several separated by `|`): a row matches when one of its
  // patterns can match the query and none of its `except` patterns covers it. Any other query
  // matches the row's text. Both ignore case, as IAM does.
  var ACTION = /^(\*|[a-z0-9*?-]+:[a-z0-9*?]+)$/;
  function overlap(a, b) {
    var memo = {};
    function go(i, j) {
      var k = i + ',' + j;
      if (k in memo) { return memo[k]; }
      var r;
      if (i === a.length && j === b.length) { r = true; }
      else if (i < a.length && a[i] === '*') { r = go(i + 1, j) || (j < b.length && go(i, j + 1)); }
      else if (j < b.length && b[j] === '*') { r = go(i, j + 1) || (i < a.length && go(i + 1, j)); }
      else if (i === a.length || j === b.length) { r = false; }
      else { r = (a[i] === '?' || b[j] === '?' || a[i] === b[j]) && go(i + 1, j + 1); }
      memo[k] = r;
      return r;
    }
    return go(0, 0);
  }
  // Does the exclude pattern `e` take out every action the query `q` names?
  function covers(e, q) {
    if (e === q || e === '*') { return true; }
    var star = e.indexOf('*');
    return star === e.length - 1 && e.indexOf('?') === -1 && q.slice(0, star) === e.slice(0, star);
  }
  function notationMatches(n, q) {
    var inc = [];
    var exc = [];
    var out = false;
    n.split(/\s+/).forEach(function (t) {
      if (t === '') { return; }
      if (t === 'except') { out = true; } else if (out) { exc.push(t); } else { inc.push(t); }
    });
    return inc.some(function (p) { return overlap(p, q); }) &&
      !exc.some(function (e) { return covers(e, q); });
  }
  function matcher(raw) {
    var q = raw.trim().toLowerCase();
    if (q === '') { return function () { return true; }; }
    if (ACTION.test(q)) {
      return function (o) {
        if (o.a === null) { return o.t.indexOf(q) !== -1; }
        return o.a.some(function (n) { return notationMatches(n, q); });
      };
    }
    return function (o) { return o.t.indexOf(q) !== -1; };
  }
  function info(el) {
    var a = el.getAttribute('data-actions');
    return {
      r: el,
      t: el.textContent.toLowerCase(),
      a: a === null ? null : a.toLowerCase().split('|').filter(function (x) { return x !== ''; })
    };
  }
  function shownText(out, shown, total, noun) {
    if (!out) { return; }
    out.textContent = shown === total
      ? 'Showing all ' + total + ' ' + noun
      : 'Showing ' + shown + ' of ' + total + ' ' + noun;
  }
  function wireReset(box, text, selects, apply) {
    var reset = box.querySelector('button[type="reset"]');
    if (!reset) { return; }
    reset.addEventListener('click', function (e) {
      e.preventDefault();
      if (text) { text.value = ''; }
      each(selects, function (s) { s.value = ''; });
      apply();
    });
  }

  // --- Filtering a table: a .filters box names its table in data-for. ---
  each(doc.querySelectorAll('.filters[data-for]'), function (box) {
    var table = doc.getElementById(box.getAttribute('data-for'));
    if (!table) { return; }
    var rows = [];
    each(table.tBodies, function (tb) { each(tb.rows, function (r) { rows.push(info(r)); }); });
    var text = box.querySelector('input[type="search"]');
    var selects = box.querySelectorAll('select');
    var out = box.querySelector('output');
    function apply() {
      var match = matcher(text ? text.value : '');
      var shown = 0;
      rows.forEach(function (o) {
        var ok = match(o);
        each(selects, function (s) {
          if (ok && s.value !== '' && o.r.getAttribute('data-' + s.name) !== s.value) { ok = false; }
        });
        o.r.hidden = !ok;
        if (ok) { shown += 1; }
      });
      shownText(out, shown, rows.length, 'rows');
    }
    box.addEventListener('input', apply);
    box.addEventListener('change', apply);
    box.addEventListener('submit', function (e) { e.preventDefault(); });
    wireReset(box, text, selects, apply);
    apply();
  });

  // --- Searching principal sections: a .filters box names their container in data-sections. ---
  each(doc.querySelectorAll('.filters[data-sections]'), function (box) {
    var scope = doc.getElementById(box.getAttribute('data-sections'));
    if (!scope) { return; }
    var sections = [];
    each(scope.querySelectorAll('details.principal'), function (d) { sections.push(info(d)); });
    var text = box.querySelector('input[type="search"]');
    var out = box.querySelector('output');
    function apply() {
      var match = matcher(text ? text.value : '');
      var shown = 0;
      sections.forEach(function (o) {
        var ok = match(o);
        o.r.hidden = !ok;
        if (ok) { shown += 1; }
      });
      shownText(out, shown, sections.length, 'principals');
    }
    box.addEventListener('input', apply);
    box.addEventListener('submit', function (e) { e.preventDefault(); });
    wireReset(box, text, [], apply);
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
    // Folded long lists (details.fold) stay folded: the CSVs hold them in full.
    each(doc.querySelectorAll('details:not([open]):not(.fold)'), function (d) { d.open = true; opened.push(d); });
    each(doc.querySelectorAll('tr[hidden], details.principal[hidden]'), function (r) { r.hidden = false; unhidden.push(r); });
  });
  window.addEventListener('afterprint', function () {
    opened.forEach(function (d) { d.open = false; });
    unhidden.forEach(function (r) { r.hidden = true; });
    opened = [];
    unhidden = [];
  });
}());
