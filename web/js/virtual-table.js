// A table that only puts the rows in view into the DOM, so 3,000 rows scroll like 30.
// Rows are focusable; Enter/Space activate, arrows and Home/End move between rows.
// Columns: { key, title, width (CSS grid track), html(row) -> string, sortKey?, align? }.

const OVERSCAN = 6;

export class VirtualTable {
  constructor(container, { columns, rowHeight = 30, rowKey, onActivate, onSort, label, emptyText = 'No rows.' }) {
    this.columns = columns;
    this.rowHeight = rowHeight;
    this.rowKey = rowKey;
    this.onActivate = onActivate;
    this.onSort = onSort;
    this.emptyText = emptyText;
    this.rows = [];
    this.highlightKey = null;
    this.focusIndex = -1;
    this.sort = { key: null, descending: true };

    this.root = document.createElement('div');
    this.root.className = 'vt';
    this.root.setAttribute('role', 'grid');
    this.root.setAttribute('aria-label', label);
    this.root.style.setProperty('--vt-columns', columns.map((c) => c.width || '1fr').join(' '));
    this.root.style.setProperty('--vt-row-height', `${rowHeight}px`);

    this.header = document.createElement('div');
    this.header.className = 'vt-header';
    this.header.setAttribute('role', 'row');
    this.viewport = document.createElement('div');
    this.viewport.className = 'vt-viewport';
    this.spacer = document.createElement('div');
    this.spacer.className = 'vt-spacer';
    this.empty = document.createElement('div');
    this.empty.className = 'vt-empty text-body-secondary';
    this.viewport.append(this.spacer, this.empty);
    this.root.append(this.header, this.viewport);
    container.appendChild(this.root);

    this.viewport.addEventListener('scroll', () => this.paint());
    this.spacer.addEventListener('click', (event) => this.activateFrom(event));
    this.spacer.addEventListener('keydown', (event) => this.onKey(event));
    // Heights change when the window does; repaint so the rows fill the new room.
    this.resizeObserver = new ResizeObserver(() => this.paint());
    this.resizeObserver.observe(this.viewport);
    this.renderHeader();
  }

  destroy() {
    this.resizeObserver.disconnect();
    this.root.remove();
  }

  setSort(key, descending) {
    this.sort = { key, descending };
    this.renderHeader();
  }

  setRows(rows, { keepScroll = false } = {}) {
    this.rows = rows;
    this.root.setAttribute('aria-rowcount', String(rows.length + 1));
    this.spacer.style.height = `${rows.length * this.rowHeight}px`;
    this.empty.hidden = rows.length > 0;
    this.empty.textContent = this.emptyText;
    if (!keepScroll) this.viewport.scrollTop = 0;
    this.focusIndex = -1;
    this.paint();
  }

  indexOfKey(key) {
    return this.rows.findIndex((row) => this.rowKey(row) === key);
  }

  // Marks one row and scrolls it into the middle of the view; false when it is filtered out.
  highlight(key, { scroll = true } = {}) {
    this.highlightKey = key;
    const index = this.indexOfKey(key);
    if (index >= 0 && scroll) this.scrollToIndex(index, { center: true });
    this.paint();
    return index >= 0;
  }

  scrollToIndex(index, { center = false } = {}) {
    const top = index * this.rowHeight;
    const view = this.viewport.clientHeight;
    if (center) {
      this.viewport.scrollTop = Math.max(0, top - view / 2 + this.rowHeight / 2);
    } else if (top < this.viewport.scrollTop) {
      this.viewport.scrollTop = top;
    } else if (top + this.rowHeight > this.viewport.scrollTop + view) {
      this.viewport.scrollTop = top + this.rowHeight - view;
    }
  }

  renderHeader() {
    this.header.replaceChildren(...this.columns.map((column) => {
      const cell = document.createElement('div');
      cell.className = `vt-cell vt-head ${column.align === 'end' ? 'text-end' : ''}`;
      cell.setAttribute('role', 'columnheader');
      if (column.sortKey) {
        const active = this.sort.key === column.sortKey;
        cell.setAttribute('aria-sort', active ? (this.sort.descending ? 'descending' : 'ascending') : 'none');
        const button = document.createElement('button');
        button.type = 'button';
        button.className = 'vt-sort';
        button.dataset.sort = column.sortKey;
        button.textContent = `${column.title}${active ? (this.sort.descending ? ' ▼' : ' ▲') : ''}`;
        button.title = `Sort by ${column.title.toLowerCase()}`;
        button.addEventListener('click', () => this.onSort && this.onSort(column.sortKey));
        cell.appendChild(button);
      } else {
        cell.textContent = column.title;
      }
      return cell;
    }));
  }

  paint() {
    const height = this.viewport.clientHeight || 400;
    const first = Math.max(0, Math.floor(this.viewport.scrollTop / this.rowHeight) - OVERSCAN);
    const last = Math.min(this.rows.length, Math.ceil((this.viewport.scrollTop + height) / this.rowHeight) + OVERSCAN);
    const hadFocus = this.spacer.contains(document.activeElement);
    const html = [];
    for (let index = first; index < last; index += 1) html.push(this.rowHtml(this.rows[index], index));
    this.spacer.innerHTML = html.join('');
    if (hadFocus && this.focusIndex >= first && this.focusIndex < last) this.focusRow(this.focusIndex);
  }

  rowHtml(row, index) {
    const key = this.rowKey(row);
    const selected = key === this.highlightKey;
    const cells = this.columns.map((column) => (
      `<div class="vt-cell ${column.align === 'end' ? 'text-end' : ''}" role="gridcell" data-col="${column.key}">${column.html(row)}</div>`
    )).join('');
    return `<div class="vt-row${selected ? ' selected' : ''}" role="row" tabindex="0" data-index="${index}"`
      + ` data-key="${escapeAttribute(String(key))}" aria-rowindex="${index + 2}" aria-selected="${selected}"`
      + ` style="transform: translateY(${index * this.rowHeight}px)">${cells}</div>`;
  }

  rowElement(index) {
    return this.spacer.querySelector(`.vt-row[data-index="${index}"]`);
  }

  focusRow(index) {
    const element = this.rowElement(index);
    if (element) element.focus({ preventScroll: true });
  }

  activateFrom(event) {
    const element = event.target.closest('.vt-row');
    if (!element) return;
    const index = Number(element.dataset.index);
    this.focusIndex = index;
    this.activate(index);
  }

  activate(index) {
    const row = this.rows[index];
    if (!row) return;
    this.highlightKey = this.rowKey(row);
    this.paint();
    this.focusRow(index);
    if (this.onActivate) this.onActivate(row);
  }

  onKey(event) {
    const element = event.target.closest('.vt-row');
    if (!element) return;
    const index = Number(element.dataset.index);
    const moves = {
      ArrowDown: index + 1,
      ArrowUp: index - 1,
      PageDown: index + Math.floor(this.viewport.clientHeight / this.rowHeight),
      PageUp: index - Math.floor(this.viewport.clientHeight / this.rowHeight),
      Home: 0,
      End: this.rows.length - 1,
    };
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      this.focusIndex = index;
      this.activate(index);
    } else if (event.key in moves) {
      event.preventDefault();
      const next = Math.max(0, Math.min(this.rows.length - 1, moves[event.key]));
      this.focusIndex = next;
      this.scrollToIndex(next);
      this.paint();
      this.focusRow(next);
    }
  }
}

function escapeAttribute(text) {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}
