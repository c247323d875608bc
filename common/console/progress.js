/* SPDX-License-Identifier: Apache-2.0 */
/*
 * progress.js - the citizen's progress page (Art 12), public, no sign-in:
 * the ticket number and the phone's last four digits give the status and
 * the public timeline (GET /api/v1/progress/{id}); with the rating token of
 * the SMS (?token=), the rating form (POST /api/v1/tickets/{id}/rating).
 * The address may carry ?id= to fill the number in.
 */
'use strict';

const params = new URLSearchParams(location.search);

function render(message) {
  document.title = t('progress_title');
  document.getElementById('title').textContent = t('progress_title');
  document.getElementById('lang').textContent = t('language');
  const id = el('input', { id: 'ticket-id', name: 'id', required: true, autocomplete: 'off',
    placeholder: '440100-20261205-000001', value: params.get('id') || '' });
  const last4 = el('input', { id: 'last4', name: 'phone_last4', required: true, inputmode: 'numeric',
    pattern: '[0-9]{4}', maxlength: 4, autocomplete: 'off' });
  const out = el('div', { id: 'progress-out' }, message ? el('div', { class: 'notice error', role: 'alert' }, message) : null);
  const form = el('form', { class: 'card', id: 'progress-form', onsubmit: async e => {
    e.preventDefault();
    const res = await fetch(`/api/v1/progress/${encodeURIComponent(id.value.trim())}?phone_last4=${encodeURIComponent(last4.value)}`);
    const data = await res.json().catch(() => ({}));
    if (!res.ok) {
      out.replaceChildren(el('div', { class: 'notice error', role: 'alert' },
        res.status === 404 ? t('not_found') : (data.error && data.error.message) || res.statusText));
      return;
    }
    showProgress(data, out);
  } },
  el('div', { class: 'field' }, el('label', { for: 'ticket-id' }, t('id')), id),
  el('div', { class: 'field' }, el('label', { for: 'last4' }, t('last4')), last4),
  el('button', { type: 'submit', class: 'primary' }, t('query')));
  document.getElementById('main').replaceChildren(form, out);
  (id.value ? last4 : id).focus();
}

function showProgress(p, out) {
  out.replaceChildren(el('div', { class: 'card', id: 'progress' },
    el('h2', {}, p.id),
    el('p', { class: 'status-line' }, `${t('public_status')}: `, el('strong', { id: 'public-status' }, v(p.status)),
      p.unit_name ? ` · ${p.unit_name}` : ''),
    p.deadline ? el('p', {}, `${t('deadline')}: ${when(p.deadline)}`) : null,
    el('ol', { class: 'timeline', id: 'public-timeline' }, ...p.timeline.map(s =>
      el('li', {}, el('time', {}, when(s.at)), ' ', lang() === 'en' ? s.label : stepLabel(s))))),
  params.get('token') ? ratingForm(p.id) : '');
}

/* The step's words in Chinese; the API's label otherwise. */
function stepLabel(s) {
  const zh = { registered: '诉求已登记', dispatched: '已派交', transferred: '已改派', extended: '办理期限已延长',
    completed: '已办结', rejected: '不予受理', answered: '已当场答复', closed: '已关闭', redo: '重新办理' };
  const unit = s.label.match(/ to (.+)$/);
  return (zh[s.step] || s.label) + (unit ? unit[1] : '');
}

function ratingForm(id) {
  const intake = el('select', { id: 'rate-intake', name: 'intake' }, ...LEVELS.map(l => el('option', { value: l }, v(l))));
  const handling = el('select', { id: 'rate-handling', name: 'handling' }, ...LEVELS.map(l => el('option', { value: l }, v(l))));
  const comment = el('textarea', { id: 'rate-comment', rows: 2, maxlength: 500 });
  const out = el('div', { id: 'rate-out' });
  return el('form', { class: 'card', id: 'rating', onsubmit: async e => {
    e.preventDefault();
    const body = { intake: intake.value, handling: handling.value, token: params.get('token') };
    if (comment.value.trim())
      body.comment = comment.value.trim();
    const res = await fetch(`/api/v1/tickets/${encodeURIComponent(id)}/rating`, { method: 'POST',
      headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const data = await res.json().catch(() => ({}));
    out.replaceChildren(el('div', { class: `notice ${res.ok ? 'ok' : 'error'}`, role: 'status' },
      res.ok ? t('rated') : (data.error && data.error.message) || res.statusText));
  } },
  el('h3', {}, t('rate_title')),
  el('div', { class: 'field' }, el('label', { for: 'rate-intake' }, t('rate_intake')), intake),
  el('div', { class: 'field' }, el('label', { for: 'rate-handling' }, t('rate_handling')), handling),
  el('div', { class: 'field' }, el('label', { for: 'rate-comment' }, t('comment')), comment),
  el('button', { type: 'submit', class: 'primary' }, t('rate_submit')), out);
}

document.addEventListener('DOMContentLoaded', () => {
  setLang(lang());
  document.getElementById('lang').addEventListener('click', () => {
    setLang(lang() === 'zh' ? 'en' : 'zh');
    render();
  });
  render();
});
