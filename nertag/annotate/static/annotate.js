// The page of `nertag annotate`: one sentence, its spans, the keyboard and the buttons.
// Editing (cursor, selection, labels) happens here at once; a decision (accept, reject,
// skip, undo) is sent to the server, which saves it and answers with the next sentence.
'use strict';
(function () {
  const app = document.getElementById('app');
  const labels = JSON.parse(app.dataset.labels);
  const sentence = document.getElementById('sentence');
  const context = document.getElementById('context');
  const msg = document.getElementById('msg');
  const progress = document.getElementById('progress');

  // one client per tab, kept over a reload (the server gives it back its sentence)
  let client = sessionStorage.getItem('nertag-annotate-client');
  if (!client) {
    client = (window.crypto && crypto.randomUUID) ? crypto.randomUUID()
      : Math.random().toString(36).slice(2) + Date.now().toString(36);
    sessionStorage.setItem('nertag-annotate-client', client);
  }

  let item = null;      // {id, text, context, tokens: [[text, start, end]], spans}
  let spans = [];       // [{token_start, token_end, label}], token_end inclusive
  let cursor = 0;       // the token the keys act on
  let anchor = null;    // the other end of a selection (null: none)
  let busy = false;     // a decision is on its way
  let dragging = false;
  let version = 0;

  function say(text, error) {
    msg.textContent = text || '';
    msg.className = error ? 'msg error' : 'msg';
  }

  function showProgress(p) {
    if (!p) return;
    const f1 = p.retrain_f1 === null || p.retrain_f1 === undefined ? '—'
      : (100 * p.retrain_f1).toFixed(2) + (p.retrain_used === false ? ' (kept the model in use)' : '');
    progress.textContent = `answered ${p.answered} · remaining ${p.remaining} · last retrain F1 ${f1}`
      + (p.unsaved ? ` · ${p.unsaved} not saved yet` : '');
  }

  function selected() {  // [lo, hi] of the selection, or null
    if (anchor === null) return null;
    return [Math.min(anchor, cursor), Math.max(anchor, cursor)];
  }

  function spanAt(i) {
    return spans.find(s => s.token_start <= i && i <= s.token_end);
  }

  function tokenNode(i, sel) {
    const t = document.createElement('span');
    t.className = 'tok' + (i === cursor ? ' cur' : '') + (sel && sel[0] <= i && i <= sel[1] ? ' sel' : '');
    t.dataset.i = i;
    t.textContent = item.tokens[i][0];
    return t;
  }

  function render() {
    version += 1;
    sentence.dataset.version = version;
    if (!item) {
      sentence.textContent = 'Every sentence is answered. You can close this page.';
      sentence.dataset.state = 'done';
      sentence.dataset.id = '';
      context.textContent = '';
      return;
    }
    const toks = item.tokens, text = item.text, sel = selected();
    const starts = new Map(spans.map(s => [s.token_start, s]));
    const out = document.createDocumentFragment();
    let pos = 0, i = 0;
    while (i < toks.length) {
      out.append(text.slice(pos, toks[i][1]));
      const s = starts.get(i);
      if (s) {
        const mark = document.createElement('mark');
        mark.dataset.label = s.label;
        mark.title = s.label + (s.score === null || s.score === undefined ? '' : ' ' + s.score.toFixed(2));
        for (let j = s.token_start; j <= s.token_end; j++) {
          if (j > s.token_start) mark.append(text.slice(toks[j - 1][2], toks[j][1]));
          mark.append(tokenNode(j, sel));
        }
        const l = document.createElement('span');
        l.className = 'l';
        l.textContent = s.label;
        mark.append(l);
        out.append(mark);
        pos = toks[s.token_end][2];
        i = s.token_end + 1;
      } else {
        out.append(tokenNode(i, sel));
        pos = toks[i][2];
        i += 1;
      }
    }
    out.append(text.slice(pos));
    sentence.replaceChildren(out);
    sentence.dataset.id = item.id;
    sentence.dataset.state = busy ? 'saving' : 'ready';
  }

  function show(data) {
    item = data.item;
    spans = item ? item.spans.map(s => ({token_start: s.token_start, token_end: s.token_end,
                                         label: s.label, score: s.score})) : [];
    cursor = 0;
    anchor = null;
    context.textContent = item && item.context ? item.context : '';
    showProgress(data.progress);
    if (data.warning) say(data.warning, true);
    render();
  }

  async function post(path, body) {
    const r = await fetch(path, {method: 'POST', headers: {'Content-Type': 'application/json'},
                                 body: JSON.stringify(Object.assign({client: client}, body))});
    let data = {};
    try { data = await r.json(); } catch (e) { data = {error: `the server answered ${r.status}`}; }
    return {status: r.status, data: data};
  }

  async function send(path, body, done) {
    if (busy) return;
    busy = true;
    sentence.dataset.state = 'saving';
    try {
      const {status, data} = await post(path, body);
      busy = false;
      if (status === 200) {
        say(done(data) || '');
        show(data);
      } else if (status === 409 && path === '/api/answer') {
        say(data.error, true);  // taken or answered elsewhere: nothing written; go on
        await next(true);
      } else {
        say(data.error || `the server answered ${status}`, true);
        render();
      }
    } catch (e) {
      busy = false;
      say('the server does not answer (is nertag annotate still running?); nothing was ' +
          'saved: press the key again once it runs', true);
      render();
    }
  }

  async function next(keepMessage) {
    try {
      const {status, data} = await post('/api/next', {});
      if (status !== 200) { say(data.error, true); return; }
      if (!keepMessage) say('');
      show(data);
    } catch (e) {
      say('the server does not answer (is nertag annotate still running?)', true);
    }
  }

  function decide(answer) {
    if (!item) return;
    const body = {id: item.id, answer: answer,
                  spans: spans.map(s => ({token_start: s.token_start, token_end: s.token_end,
                                          label: s.label}))};
    send('/api/answer', body, data => data.warning ? data.warning : '');
  }

  function undo() {
    send('/api/undo', {}, data => `undid the ${data.undone === 'ignore' ? 'skip' : data.undone} of this sentence`);
  }

  function label(k) {
    if (!item) return;
    if (k >= labels.length || k < 0) {
      const keys = labels.slice(0, 9).map((l, j) => `${j + 1} ${l}`).join(', ');
      say(`no label on key ${k + 1}; the label keys are ${keys}`, true);
      return;
    }
    const name = labels[k];
    const sel = selected();
    const inside = spanAt(cursor);
    if (!sel && inside) {
      inside.label = name;  // a label key on a highlighted span: relabel it
      inside.score = null;
    } else {
      const [lo, hi] = sel || [cursor, cursor];
      spans = spans.filter(s => s.token_end < lo || s.token_start > hi);
      spans.push({token_start: lo, token_end: hi, label: name, score: null});
      spans.sort((a, b) => a.token_start - b.token_start);
    }
    anchor = null;
    say('');
    render();
  }

  function remove() {
    if (!item) return;
    const [lo, hi] = selected() || [cursor, cursor];
    spans = spans.filter(s => s.token_end < lo || s.token_start > hi);
    anchor = null;
    render();
  }

  function move(step, extend) {
    if (!item || !item.tokens.length) return;
    if (extend && anchor === null) anchor = cursor;
    if (!extend) anchor = null;
    cursor = Math.max(0, Math.min(item.tokens.length - 1, cursor + step));
    render();
  }

  document.addEventListener('keydown', e => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const k = e.key;
    let handled = true;
    if (k === 'Enter' || k === 'a') decide('accept');
    else if (k === 'x') decide('reject');
    else if (k === 's') decide('ignore');
    else if (k === 'u' || k === 'Backspace') undo();
    else if (k === 'Delete') remove();
    else if (k === 'Escape') { anchor = null; render(); }
    else if (k === 'ArrowLeft') move(-1, e.shiftKey);
    else if (k === 'ArrowRight') move(1, e.shiftKey);
    else if (/^[0-9]$/.test(k)) label(k === '0' ? 9 : Number(k) - 1);
    else handled = false;
    if (handled) e.preventDefault();
  });

  // the mouse: drag over tokens to select them, click a token to put the cursor there
  sentence.addEventListener('mousedown', e => {
    const t = e.target.closest('.tok');
    if (!t) return;
    cursor = Number(t.dataset.i);
    anchor = cursor;
    dragging = true;
    render();
    e.preventDefault();
  });
  sentence.addEventListener('mouseover', e => {
    const t = e.target.closest('.tok');
    if (!dragging || !t) return;
    cursor = Number(t.dataset.i);
    render();
  });
  document.addEventListener('mouseup', () => {
    if (!dragging) return;
    dragging = false;
    if (anchor === cursor && spanAt(cursor)) { anchor = null; render(); }  // a click
  });
  document.getElementById('labels').addEventListener('click', e => {
    const b = e.target.closest('button.label');
    if (b) label(labels.indexOf(b.dataset.label));
  });
  document.querySelector('.actions').addEventListener('click', e => {
    const b = e.target.closest('button.action');
    if (!b) return;
    const a = b.dataset.action;
    if (a === 'undo') undo();
    else if (a === 'remove') remove();
    else decide(a);
  });

  next(false);
})();
