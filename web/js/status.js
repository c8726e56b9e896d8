// Loading and error messages. API errors show the server's own message (docs/api.md's
// error shape), with its type and status for whoever reports a problem.

import { escapeHtml } from './format.js';

export function showLoading(element, text) {
  element.innerHTML = `<div class="alert alert-info py-2 mb-0 d-flex align-items-center gap-2 status-loading" role="status">
    <span class="spinner-border spinner-border-sm" aria-hidden="true"></span><span>${escapeHtml(text)}</span></div>`;
}

export function showError(element, error, { title = 'The request failed', retry } = {}) {
  const details = error.status ? ` <span class="text-body-secondary small">(${escapeHtml(error.type || 'error')}, HTTP ${error.status})</span>` : '';
  element.innerHTML = `<div class="alert alert-danger py-2 mb-0 status-error" role="alert">
    <strong>${escapeHtml(title)}:</strong> <span class="error-message">${escapeHtml(error.message)}</span>${details}
    ${retry ? '<button type="button" class="btn btn-sm btn-outline-danger ms-2 status-retry">Try again</button>' : ''}</div>`;
  if (retry) element.querySelector('.status-retry').addEventListener('click', retry);
}

export function clearStatus(element) {
  element.replaceChildren();
}
