// cspmove HTML report: sortable, filterable, paginated tables drawn from the JSON block.
// Every value is put into the page with textContent, never as markup. Only the visible
// page (PAGE_SIZE rows) is in the DOM, so 100,000 lines stay responsive.
(function () {
  'use strict';
  var PAGE_SIZE = 100;
  var root = document.documentElement;
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var L = data.labels;
  var numberFormat = new Intl.NumberFormat(data.lang);
  var collator = new Intl.Collator(data.lang, { numeric: true, sensitivity: 'base' });
  var tables = {};

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (m, k) {
      return Object.prototype.hasOwnProperty.call(values, k) ? values[k] : m;
    });
  }

  function shown(value, kind) {
    if (value === null || value === undefined) return '';
    if (kind === 'number') return numberFormat.format(value);
    return String(value);
  }

  function compare(a, b, kind) {
    var an = a === null || a === undefined || a === '';
    var bn = b === null || b === undefined || b === '';
    if (an || bn) return an === bn ? 0 : an ? 1 : -1; // empty cells last either way
    if (kind === 'number') return a - b;
    // Dates are year-first and zero-padded in every language, so text order is date order.
    if (kind === 'date') return a < b ? -1 : a > b ? 1 : 0;
    return collator.compare(String(a), String(b));
  }

  function Table(section, spec) {
    this.section = section;
    this.spec = spec;
    this.columns = spec.columns;
    this.rows = spec.rows;
    this.haystack = null; // lower-cased row text, built on the first filter
    this.view = this.rows.map(function (_, i) { return i; });
    this.sortCol = -1;
    this.sortDir = 1;
    this.page = 0;
    this.filterText = '';
    this.tbody = section.querySelector('tbody');
    this.rangeEl = section.querySelector('.range');
    this.prevEl = section.querySelector('button.prev');
    this.nextEl = section.querySelector('button.next');
    this.filterEl = section.querySelector('input[type=search]');
    this.headers = section.querySelectorAll('thead th');
    var self = this;
    Array.prototype.forEach.call(this.headers, function (th, i) {
      th.addEventListener('click', function () { self.sortBy(i); });
      th.addEventListener('keydown', function (e) {
        if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); self.sortBy(i); }
      });
    });
    this.prevEl.addEventListener('click', function () { self.go(self.page - 1); });
    this.nextEl.addEventListener('click', function () { self.go(self.page + 1); });
    var timer = null;
    this.filterEl.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(function () { self.filter(self.filterEl.value); }, 150);
    });
    section.setAttribute('data-total', String(this.rows.length));
    this.render();
  }

  Table.prototype.filter = function (text) {
    this.filterText = text.trim().toLowerCase();
    var term = this.filterText;
    if (!term) {
      this.view = this.rows.map(function (_, i) { return i; });
    } else {
      if (!this.haystack) {
        var cols = this.columns;
        this.haystack = this.rows.map(function (row) {
          return row.map(function (v, c) { return shown(v, cols[c].kind); }).join('\u0001').toLowerCase();
        });
      }
      var hay = this.haystack;
      this.view = [];
      for (var i = 0; i < hay.length; i++) if (hay[i].indexOf(term) !== -1) this.view.push(i);
    }
    this.applySort();
    this.page = 0;
    this.render();
  };

  Table.prototype.sortBy = function (col) {
    if (this.sortCol === col) this.sortDir = -this.sortDir;
    else { this.sortCol = col; this.sortDir = 1; }
    this.applySort();
    this.page = 0;
    this.render();
  };

  Table.prototype.applySort = function () {
    var col = this.sortCol;
    if (col < 0) return;
    var kind = this.columns[col].kind, dir = this.sortDir, rows = this.rows;
    this.view.sort(function (a, b) {
      var va = rows[a][col], vb = rows[b][col];
      var empty = (va === null || va === '') - (vb === null || vb === '');
      if (empty !== 0) return empty; // empty cells stay at the bottom
      return dir * compare(va, vb, kind) || a - b;
    });
  };

  Table.prototype.go = function (page) {
    var pages = Math.max(1, Math.ceil(this.view.length / PAGE_SIZE));
    this.page = Math.min(Math.max(0, page), pages - 1);
    this.render();
  };

  Table.prototype.render = function (all) {
    var start = all ? 0 : this.page * PAGE_SIZE;
    var end = all ? this.view.length : Math.min(this.view.length, start + PAGE_SIZE);
    var frag = document.createDocumentFragment();
    var cols = this.columns;
    for (var i = start; i < end; i++) {
      var row = this.rows[this.view[i]];
      var tr = document.createElement('tr');
      for (var c = 0; c < cols.length; c++) {
        var td = document.createElement('td');
        if (cols[c].kind !== 'text') td.className = cols[c].kind === 'number' ? 'num' : 'date';
        else if (cols[c].wrap) td.className = 'wrap';
        var text = shown(row[c], cols[c].kind);
        td.textContent = text;
        // Long values are cut on screen (CSS ellipsis); hovering shows them whole.
        if (text.length > 40) td.title = text;
        tr.appendChild(td);
      }
      frag.appendChild(tr);
    }
    if (end <= start) {
      var tr0 = document.createElement('tr');
      var td0 = document.createElement('td');
      td0.colSpan = cols.length;
      td0.className = 'empty';
      td0.textContent = L.empty;
      tr0.appendChild(td0);
      frag.appendChild(tr0);
    }
    this.tbody.textContent = '';
    this.tbody.appendChild(frag);
    var pages = Math.max(1, Math.ceil(this.view.length / PAGE_SIZE));
    this.rangeEl.textContent = this.view.length === 0 ? L.empty :
      fill(L.range, {
        from: numberFormat.format(start + 1),
        to: numberFormat.format(end),
        total: numberFormat.format(this.view.length)
      }) + ' \u00b7 ' + fill(L.page, { page: numberFormat.format(this.page + 1), pages: numberFormat.format(pages) });
    this.prevEl.disabled = all || this.page === 0;
    this.nextEl.disabled = all || this.page >= pages - 1;
    var self = this;
    Array.prototype.forEach.call(this.headers, function (th, i) {
      if (i === self.sortCol) th.setAttribute('aria-sort', self.sortDir > 0 ? 'ascending' : 'descending');
      else th.removeAttribute('aria-sort');
    });
    this.section.setAttribute('data-filtered', String(this.view.length));
    this.section.setAttribute('data-shown', String(Math.max(0, end - start)));
    this.section.setAttribute('data-sort', this.sortCol < 0 ? '' : this.sortCol + (this.sortDir > 0 ? ':asc' : ':desc'));
  };

  // Undo the compact encoding of html.rs: dictionary columns, then description templates.
  function decode(spec) {
    var cols = spec.columns, rows = spec.rows, i;
    cols.forEach(function (col, c) {
      if (!col.dict) return;
      for (i = 0; i < rows.length; i++) if (rows[i][c] !== null) rows[i][c] = col.dict[rows[i][c]];
    });
    cols.forEach(function (col, c) {
      var tp = col.template;
      if (!tp) return;
      var mark = '{' + tp.fill + '}';
      for (i = 0; i < rows.length; i++) {
        if (rows[i][c] !== null) rows[i][c] = tp.texts[rows[i][c]].split(mark).join(rows[i][tp.from] || '');
      }
    });
    return spec;
  }

  Object.keys(data.tables).forEach(function (id) {
    var section = document.getElementById(id);
    if (section) tables[id] = new Table(section, decode(data.tables[id]));
  });

  // Printing shows every row of small tables; large ones print the page on screen.
  window.addEventListener('beforeprint', function () {
    Object.keys(tables).forEach(function (id) {
      if (tables[id].view.length <= 2000) tables[id].render(true);
    });
  });
  window.addEventListener('afterprint', function () {
    Object.keys(tables).forEach(function (id) { tables[id].render(); });
  });

  // `#selftest` (used by the test suite in headless Chromium): click a numeric header of
  // the Moves table twice, check the rows on screen are the smallest, then the largest,
  // values of the whole table; `&filter=TEXT` then filters the Moves table.
  function selftest(params) {
    var t = tables.moves;
    if (!t) return 'no moves table';
    var col = -1;
    for (var c = 0; c < t.columns.length; c++) if (t.columns[c].key === 'col.seats') col = c;
    if (col < 0) return 'no seats column';
    var values = t.rows.map(function (r) { return r[col]; });
    var min = Math.min.apply(null, values.length ? values : [0]);
    var max = Math.max.apply(null, values.length ? values : [0]);
    function onScreen() {
      return Array.prototype.map.call(t.tbody.querySelectorAll('tr'), function (tr) {
        var td = tr.children[col];
        return td ? Number(td.textContent.replace(/[^0-9.-]/g, '')) : NaN;
      });
    }
    function monotone(list, dir) {
      for (var i = 1; i < list.length; i++) if (dir * (list[i] - list[i - 1]) < 0) return false;
      return true;
    }
    t.headers[col].click();
    var up = onScreen();
    if (t.rows.length && (up[0] !== min || !monotone(up, 1))) return 'ascending sort failed: ' + up.slice(0, 5);
    t.headers[col].click();
    var down = onScreen();
    if (t.rows.length && (down[0] !== max || !monotone(down, -1))) return 'descending sort failed: ' + down.slice(0, 5);
    if (params.filter) t.filter(params.filter);
    return 'ok';
  }

  // Time from navigation start until the tables are drawn (shown by the benchmark).
  root.setAttribute('data-render-ms', String(Math.round(performance.now())));

  // The widest table cell in pixels, so a test can check that no value (say a
  // 5,000-character name) pushes the other columns off screen.
  function widestCell() {
    var widest = 0;
    Array.prototype.forEach.call(document.querySelectorAll('table td'), function (td) {
      widest = Math.max(widest, td.getBoundingClientRect().width);
    });
    return Math.round(widest);
  }

  if (location.hash.indexOf('#selftest') === 0) {
    root.setAttribute('data-widest-cell', String(widestCell()));
    var params = {};
    location.hash.slice(1).split('&').forEach(function (kv) {
      var i = kv.indexOf('=');
      if (i > 0) params[kv.slice(0, i)] = decodeURIComponent(kv.slice(i + 1));
    });
    var result, began = Date.now();
    try { result = selftest(params); } catch (e) { result = 'exception: ' + e; }
    root.setAttribute('data-selftest', result);
    root.setAttribute('data-selftest-ms', String(Date.now() - began));
  }
  root.setAttribute('data-ready', '1');
})();
