/* Lore's embeddable help widget (docs/widget.md): one tag on a page of any origin gives it a help button and a
   panel to search the help centre as you type and to ask a question, answered with its sources. Everything it
   draws lives in a shadow root, so the host page's styles and its own never meet. */
(() => {
  'use strict';
  const script = document.currentScript;
  if (!script || !script.dataset.key || document.querySelector('[data-lore-widget]')) return;

  const base = new URL(script.src).origin;
  const key = script.dataset.key;
  const collections = (script.dataset.collection || '').split(',').map((name) => name.trim()).filter(Boolean);
  const title = script.dataset.title || 'Help';
  const DEBOUNCE_MS = 250;
  const SUGGESTIONS = 5;
  const UNREACHABLE =
    'Help is not available on this page: Lore could not be reached, or this site may not use it.';

  const hex = (byte) => byte.toString(16).padStart(2, '0');
  const newId = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), hex).join('');

  // The visitor, as the page's end user: their conversations and events are theirs (X-Lore-End-User).
  const endUser = (() => {
    try {
      const stored = localStorage.getItem('lore-widget-user') || newId();
      localStorage.setItem('lore-widget-user', stored);
      return stored;
    } catch {
      return newId();
    }
  })();

  const headers = {
    Authorization: `Bearer ${key}`,
    'Content-Type': 'application/json',
    'X-Lore-End-User': endUser,
  };

  class ApiError extends Error {}

  async function call(path, body, options = {}) {
    let response;
    try {
      response = await fetch(base + path, { method: 'POST', headers, body: JSON.stringify(body), ...options });
    } catch (error) {
      if (error.name === 'AbortError') throw error;
      throw new ApiError(UNREACHABLE);
    }
    if (!response.ok) {
      const found = await response.json().catch(() => null);
      const problem = found && found.error;
      throw new ApiError(problem ? `${problem.message} (${problem.code})` : `Lore answered ${response.status}.`);
    }
    return response;
  }

  const json = async (path, body, options) => (await call(path, body, options)).json();

  function send(events) {
    const stamped = events.map((event) => ({ event_id: newId(), ...event }));
    call('/v1/events', { events: stamped }).catch((error) => show(error.message, true));
  }

  // -- the elements ---------------------------------------------------------------------------------------------

  const el = (tag, attributes = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    node.append(...children);
    return node;
  };

  const host = el('div', { 'data-lore-widget': '' });
  const root = host.attachShadow({ mode: 'open' });
  const frame = el('div', { class: 'frame', hidden: '' });
  const stylesheet = el('link', { rel: 'stylesheet', href: `${base}/widget.css` });
  stylesheet.addEventListener('load', () => frame.removeAttribute('hidden'));

  const launcher = el('button',
    { type: 'button', class: 'launcher', 'aria-expanded': 'false', 'aria-controls': 'panel' }, title);
  const close = el('button',
    { type: 'button', class: 'close', 'aria-label': `Close ${title.toLowerCase()}` }, '×');
  const heading = el('h2', { id: 'panel-title' }, title);

  const search = el('input', {
    id: 'search', type: 'search', role: 'combobox', autocomplete: 'off', 'aria-autocomplete': 'list',
    'aria-expanded': 'false', 'aria-controls': 'suggestions', placeholder: 'Search articles',
  });
  const suggestions = el('ul',
    { id: 'suggestions', role: 'listbox', 'aria-label': 'Suggested articles', hidden: '' });
  const reader = el('article', { class: 'reader', hidden: '', tabindex: '-1', 'aria-label': 'Article' });

  const question = el('textarea', { id: 'question', rows: '2', maxlength: '4000', required: '' });
  const ask = el('button', { type: 'submit', class: 'primary' }, 'Ask');
  const askForm = el('form', { class: 'ask' },
    el('label', { for: 'question' }, 'Ask a question'), question, ask);
  const answer = el('section', { class: 'answer', 'aria-label': 'Answer', hidden: '' });
  const status = el('p', { class: 'status', role: 'status' });

  const panel = el('section',
    { id: 'panel', class: 'panel', role: 'dialog', 'aria-labelledby': 'panel-title', hidden: '' },
    el('header', {}, heading, close),
    el('div', { class: 'body' },
      el('label', { for: 'search' }, 'Search the help centre'),
      el('div', { class: 'combo' }, search, suggestions),
      reader, askForm, answer, status));

  frame.append(launcher, panel);
  root.append(stylesheet, frame);
  // An async script in the page's head may run before its body exists.
  if (document.body) document.body.append(host);
  else document.addEventListener('DOMContentLoaded', () => document.body.append(host));

  const show = (message, problem = false) => {
    status.textContent = message;
    status.classList.toggle('problem', problem);
  };

  // -- opening and closing --------------------------------------------------------------------------------------

  function open() {
    panel.removeAttribute('hidden');
    launcher.setAttribute('aria-expanded', 'true');
    search.focus();
  }

  function shut() {
    closeList();
    panel.setAttribute('hidden', '');
    launcher.setAttribute('aria-expanded', 'false');
    launcher.focus();
  }

  launcher.addEventListener('click', () => (panel.hidden ? open() : shut()));
  close.addEventListener('click', shut);
  panel.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && !event.defaultPrevented) {
      event.preventDefault();
      shut();
    }
  });

  // -- search as you type ---------------------------------------------------------------------------------------

  let hits = [];
  let active = -1;
  let searched = null; // the search the suggestions come from: its id and query
  let pending = null;
  let timer = 0;

  function closeList() {
    suggestions.setAttribute('hidden', '');
    search.setAttribute('aria-expanded', 'false');
    search.removeAttribute('aria-activedescendant');
    active = -1;
  }

  function highlight(index) {
    active = index;
    suggestions.querySelectorAll('[role="option"]').forEach((option, i) => {
      option.setAttribute('aria-selected', String(i === index));
    });
    if (index < 0) search.removeAttribute('aria-activedescendant');
    else search.setAttribute('aria-activedescendant', `suggestion-${index}`);
  }

  function list(found) {
    hits = found.hits;
    searched = { id: found.search_id, query: found.query };
    suggestions.replaceChildren(...hits.map((hit, index) => {
      const option = el('li', { id: `suggestion-${index}`, role: 'option', 'aria-selected': 'false' },
        el('span', { class: 'title' }, hit.title),
        ...(hit.heading_path.length ? [el('span', { class: 'path' }, hit.heading_path.join(' › '))] : []),
        el('span', { class: 'snippet' }, hit.snippet));
      option.addEventListener('mousedown', (event) => event.preventDefault()); // keeps focus in the box
      option.addEventListener('click', () => choose(index));
      return option;
    }));
    if (hits.length === 0) {
      closeList();
      show(`No articles match “${found.query}”. Ask a question below.`);
      return;
    }
    show(`${hits.length} suggestions: use the arrow keys to choose one.`);
    if (root.activeElement !== search) return; // the visitor has moved on: no list over what they do now
    suggestions.removeAttribute('hidden');
    search.setAttribute('aria-expanded', 'true');
    highlight(-1);
  }

  async function suggest(query) {
    if (pending) pending.abort();
    pending = new AbortController();
    const body = { query, k: SUGGESTIONS, ...(collections.length ? { collection: collections } : {}) };
    try {
      list(await json('/v1/search', body, { signal: pending.signal }));
    } catch (error) {
      if (error.name !== 'AbortError') {
        closeList();
        show(error.message, true);
      }
    }
  }

  search.addEventListener('input', () => {
    clearTimeout(timer);
    const query = search.value.trim();
    if (!query) {
      if (pending) pending.abort();
      closeList();
      return;
    }
    timer = setTimeout(() => suggest(query), DEBOUNCE_MS);
  });

  search.addEventListener('keydown', (event) => {
    const shown = !suggestions.hidden && hits.length > 0;
    if (event.key === 'ArrowDown' && shown) highlight((active + 1) % hits.length);
    else if (event.key === 'ArrowUp' && shown) highlight(active <= 0 ? hits.length - 1 : active - 1);
    else if (event.key === 'Enter' && shown && active >= 0) choose(active);
    else if (event.key === 'Escape' && shown) closeList();
    else return;
    event.preventDefault();
  });

  search.addEventListener('blur', closeList);

  const isLink = (source) => /^https?:\/\//i.test(source || '');
  const outLink = (href, text) => el('a', { href, target: '_blank', rel: 'noopener' }, text);

  // A passage shown in the panel: a click on what led to it, and a view of its article, in one batch.
  function read(passage, click) {
    const parts = [el('h3', {}, passage.title)];
    if (passage.heading_path.length) parts.push(el('p', { class: 'path' }, passage.heading_path.join(' › ')));
    parts.push(el('p', {}, passage.text));
    if (isLink(passage.source)) parts.push(outLink(passage.source, 'Open the article'));
    reader.replaceChildren(...parts);
    reader.removeAttribute('hidden');
    send([{ kind: 'click', document_id: passage.document_id, chunk_id: passage.chunk_id, ...click },
      { kind: 'view', document_id: passage.document_id }]);
  }

  function choose(index) {
    const hit = hits[index];
    closeList();
    search.value = hit.title;
    read(hit, { collection: hit.collection, search_id: searched.id, query: searched.query, rank: hit.rank });
    show(`Showing “${hit.title}”.`);
  }

  // -- asking ---------------------------------------------------------------------------------------------------

  let conversation = null;

  async function* events(response) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, '\n');
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let kind = 'message';
        const data = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) kind = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
        }
        if (data.length) yield { kind, data: JSON.parse(data.join('\n')) };
      }
    }
  }

  function citation(cited) {
    const label = `[${cited.marker}] ${cited.title}`;
    if (isLink(cited.source)) {
      const link = outLink(cited.source, label);
      link.addEventListener('click', () => {
        send([{ kind: 'click', document_id: cited.document_id, chunk_id: cited.chunk_id }]);
      });
      return el('li', {}, link);
    }
    const button = el('button', { type: 'button', class: 'link' }, label);
    button.addEventListener('click', () => {
      read(cited, {});
      reader.focus();
    });
    return el('li', {}, button);
  }

  function feedback(message) {
    const box = el('div', { class: 'feedback', role: 'group', 'aria-label': 'Was this answer helpful?' },
      el('span', {}, 'Was this helpful?'));
    for (const [label, helpful] of [['Helpful', true], ['Not helpful', false]]) {
      const button = el('button', { type: 'button' }, label);
      button.addEventListener('click', async () => {
        box.querySelectorAll('button').forEach((b) => { b.disabled = true; });
        try {
          const path = `/v1/conversations/${message.conversation_id}/messages/${message.id}/feedback`;
          await call(path, { helpful, event_id: newId() });
          box.replaceChildren(el('span', {}, 'Thank you for your feedback.'));
          show('Thank you for your feedback.');
        } catch (error) {
          box.querySelectorAll('button').forEach((b) => { b.disabled = false; });
          show(error.message, true);
        }
      });
      box.append(button);
    }
    return box;
  }

  function finish(text, message) {
    text.textContent = message.content;
    const parts = [];
    if (message.citations.length) {
      parts.push(el('h3', {}, 'Sources'), el('ul', { class: 'sources' }, ...message.citations.map(citation)));
    }
    answer.append(...parts, feedback(message));
    show(message.metadata && message.metadata.abstained ? 'No answer found.' : 'The answer is complete.');
  }

  async function askQuestion(content) {
    conversation = conversation || (await json('/v1/conversations', {})).id;
    const body = { content, stream: true, ...(collections.length ? { collection: collections } : {}) };
    const response = await call(`/v1/conversations/${conversation}/messages`, body);
    const text = el('p', { class: 'text' });
    answer.replaceChildren(el('p', { class: 'asked' }, content), text);
    answer.removeAttribute('hidden');
    for await (const { kind, data } of events(response)) {
      if (kind === 'token') text.textContent += data.text;
      else if (kind === 'message') finish(text, data);
      else if (kind === 'error') throw new ApiError(`${data.error.message} (${data.error.code})`);
    }
  }

  askForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const content = question.value.trim();
    if (!content) return;
    ask.disabled = true;
    show('Looking for an answer…');
    try {
      await askQuestion(content);
      question.value = '';
    } catch (error) {
      show(error.message, true);
    } finally {
      ask.disabled = false;
    }
  });
})();
