// The Edgewood demo page: Iris sliders with live probability bars, a chart of each
// feature's contribution (exact TreeSHAP) and under each slider a what-if curve (the
// prediction as that feature alone sweeps its range); a model drop zone that rebuilds
// the form from the model's schema; CSV batch prediction with a progress bar and a
// download. Everything runs in the page with the `edgewood` package served from /pkg/
// (no CDN, works offline).

import { Model, version } from '/pkg/index.js';

const $ = (id) => document.getElementById(id);
const COLORS = ['--c0', '--c1', '--c2', '--c3', '--c4'];
const EWM_MAGIC = [0x45, 0x57, 0x4d, 0x1a];
const BATCH_CHUNK = 4096;
const PREVIEW_ROWS = 15;
/** Points of each slider's what-if curve. */
const WHAT_IF_POINTS = 41;
/** Most features the contributions chart shows (the largest); the rest are summed. */
const CHART_FEATURES = 12;
const SVG = 'http://www.w3.org/2000/svg';

/**
 * The Iris model again, with its trees' covers, which explanations need. The engine's
 * embedded Iris has none (they would cost its wasm 2.7 KB gzipped), so the page starts
 * predicting at once with the embedded model and fetches this twin (the same forest,
 * converted from the same scikit-learn file, 6 KB gzipped) with the explainer, on the
 * first explanation.
 */
const IRIS_WITH_COVER = 'iris.ewm';
let irisExplainer = null;

/** Typical flowers for the Iris presets (rows 1, 51 and 101 of the Iris data). */
const IRIS_PRESETS = {
  setosa: [5.1, 3.5, 1.4, 0.2],
  versicolor: [7.0, 3.2, 4.7, 1.4],
  virginica: [6.3, 3.3, 6.0, 2.5],
};

const state = {
  model: null,
  isIris: true,
  inputs: [], // per feature: { range, number }
  downloadUrl: null,
  explainer: null, // a promise of the model that explains `model` (itself, or Iris's twin)
  explained: 0, // the latest explanation asked for: older answers are dropped
};

function showError(id, message) {
  const el = $(id);
  el.textContent = message ?? '';
  el.hidden = !message;
}

function fmt(n, digits = 4) {
  return Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(digits)));
}

function kb(bytes) {
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KB`;
}

/** The slider range of a feature: its training range padded a little, inside the valid range. */
function sliderRange(f) {
  let lo;
  let hi;
  if (f.trainRange) {
    const pad = (f.trainRange.max - f.trainRange.min) * 0.1 || 1;
    lo = f.trainRange.min - pad;
    hi = f.trainRange.max + pad;
    if (f.validRange) {
      lo = Math.max(lo, f.validRange.min);
      hi = Math.min(hi, f.validRange.max);
    }
  } else if (f.validRange) {
    lo = f.validRange.min;
    hi = f.validRange.max;
  } else {
    lo = 0;
    hi = 1;
  }
  if (!(hi > lo)) hi = lo + 1;
  return { lo, hi };
}

function niceStep(span) {
  const raw = span / 400;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw);
}

function buildForm() {
  const { schema } = state.model;
  const form = $('features');
  form.replaceChildren();
  state.inputs = schema.features.map((f, i) => {
    const { lo, hi } = sliderRange(f);
    const step = niceStep(hi - lo);
    const start = state.isIris ? IRIS_PRESETS.setosa[i] : Number(((lo + hi) / 2).toFixed(6));
    const wrap = document.createElement('div');
    wrap.className = 'feature';
    const id = `f-${i}`;
    const label = document.createElement('label');
    label.htmlFor = id;
    label.textContent = f.name;
    const note = document.createElement('span');
    note.className = 'range-note';
    const parts = [];
    if (f.validRange) parts.push(`${fmt(f.validRange.min)} to ${fmt(f.validRange.max)}`);
    if (f.allowMissing) parts.push('may be empty');
    note.textContent = parts.join(' · ');
    label.append(note);
    const range = document.createElement('input');
    Object.assign(range, { type: 'range', min: lo, max: hi, step, value: start, id: `${id}-range` });
    range.setAttribute('aria-label', `${f.name} slider`);
    range.dataset.feature = f.name;
    const number = document.createElement('input');
    Object.assign(number, { type: 'number', step: 'any', value: start, id });
    number.dataset.feature = f.name;
    range.addEventListener('input', () => {
      number.value = range.value;
      predictNow();
    });
    number.addEventListener('input', () => {
      if (number.value !== '') range.value = number.value;
      predictNow();
    });
    // What the prediction would be as this one feature sweeps the slider's range.
    const curve = document.createElementNS(SVG, 'svg');
    curve.classList.add('whatif');
    curve.setAttribute('viewBox', '0 0 200 24');
    curve.setAttribute('preserveAspectRatio', 'none');
    curve.setAttribute('aria-hidden', 'true');
    curve.dataset.feature = f.name;
    wrap.append(label, range, number, curve);
    form.append(wrap);
    return { range, number, curve, lo, hi };
  });
  buildPresets();
}

function buildPresets() {
  const box = $('presets');
  box.replaceChildren();
  if (!state.isIris) return;
  for (const [name, values] of Object.entries(IRIS_PRESETS)) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = `A typical ${name}`;
    b.addEventListener('click', () => {
      values.forEach((v, i) => {
        state.inputs[i].number.value = v;
        state.inputs[i].range.value = v;
      });
      predictNow();
    });
    box.append(b);
  }
}

function currentRow() {
  return state.inputs.map(({ number }) => (number.value.trim() === '' ? NaN : Number(number.value)));
}

function predictNow() {
  for (const { number } of state.inputs) number.removeAttribute('aria-invalid');
  let p;
  try {
    p = state.model.predict(currentRow());
  } catch (e) {
    showError('predict-error', e.message);
    state.explained++; // an explanation still on its way is for an older row
    $('explain').hidden = true;
    const bad = state.inputs.find(({ number }) => number.dataset.feature === e.feature);
    if (bad) bad.number.setAttribute('aria-invalid', 'true');
    $('predict-card').dataset.state = 'error';
    return;
  }
  showError('predict-error', null);
  $('predict-card').dataset.state = 'ok';
  renderPrediction(p);
  drawWhatIf(currentRow(), p);
  explainNow(currentRow(), p);
}

/**
 * Draws under each slider the prediction (the shown class's probability, or the value)
 * as that feature alone sweeps the slider's range: one batch of WHAT_IF_POINTS rows per
 * feature, the other features held at the row's values.
 */
function drawWhatIf(row, p) {
  const { model, inputs } = state;
  const nf = row.length;
  const n = WHAT_IF_POINTS;
  const data = new Float64Array(nf * n * nf);
  inputs.forEach(({ lo, hi }, i) => {
    for (let j = 0; j < n; j++) {
      const at = (i * n + j) * nf;
      data.set(row, at);
      data[at + i] = lo + ((hi - lo) * j) / (n - 1);
    }
  });
  let ys;
  try {
    const out = model.predictBatch(data, nf * n);
    if ('values' in out) ys = out.values;
    else {
      const k = model.schema.classes.findIndex((c) => String(c) === String(p.label));
      const width = model.schema.classes.length;
      ys = Float64Array.from({ length: nf * n }, (_, r) => out.probabilities[r * width + k]);
    }
  } catch {
    for (const { curve } of inputs) curve.replaceChildren();
    return;
  }
  // Probabilities on 0–1; values on the range every curve shares, so heights compare.
  let [bottom, top] = 'value' in p ? [Math.min(...ys), Math.max(...ys)] : [0, 1];
  if (!(top > bottom)) [bottom, top] = [bottom - 1, top + 1];
  const y = (v) => (22 - ((v - bottom) / (top - bottom)) * 20).toFixed(2);
  inputs.forEach(({ curve, lo, hi }, i) => {
    const own = ys.subarray(i * n, (i + 1) * n);
    const points = Array.from(own, (v, j) => `${((200 * j) / (n - 1)).toFixed(2)},${y(v)}`);
    const path = document.createElementNS(SVG, 'polyline');
    path.setAttribute('points', points.join(' '));
    // The slider's value now (a line: the drawing is stretched to the slider's width).
    const now = document.createElementNS(SVG, 'line');
    const x = (Math.min(Math.max((row[i] - lo) / (hi - lo), 0), 1) * 200).toFixed(2);
    for (const [a, v] of [['x1', x], ['x2', x], ['y1', 0], ['y2', 24]]) now.setAttribute(a, v);
    curve.replaceChildren(now, path);
    curve.dataset.ys = JSON.stringify(Array.from(own));
    curve.dataset.row = JSON.stringify(row);
  });
}

/** Explains `row` (predicted as `p`) and draws the chart, unless a newer row came. */
async function explainNow(row, p) {
  const ticket = ++state.explained;
  const box = $('explain');
  let e;
  try {
    e = await (await state.explainer).explain(row);
  } catch (err) {
    if (ticket !== state.explained) return;
    box.hidden = false;
    box.dataset.state = 'no-cover';
    $('explain-caption').textContent = 'Why this prediction';
    $('explain-note').textContent = err.code === 'no_cover'
      ? 'This model records no tree covers, which explanations need: convert it from its scikit-learn, XGBoost, LightGBM or CatBoost file to see them.'
      : `No explanation: ${err.message}`;
    return;
  }
  if (ticket !== state.explained) return;
  const { features, classes } = state.model.schema;
  const k = 'value' in p ? 0 : classes.findIndex((c) => String(c) === String(p.label));
  const contributions = Array.isArray(e.contributions) ? e.contributions[k] : e.contributions;
  const base = Array.isArray(e.base) ? e.base[k] : e.base;
  const total = features.reduce((sum, f) => sum + contributions[f.name], base);
  const what = 'value' in p ? 'the value' : `P(${p.label})`;
  const of = e.space === 'margin' ? `the raw score (margin) behind ${what}` : what;
  box.hidden = false;
  box.dataset.state = 'ok';
  box.dataset.row = JSON.stringify(row);
  $('explain-caption').textContent = `Why: ${of} = ${fmt(base)} on average, plus each feature's contribution`;
  drawContributions(features.map((f) => [f.name, contributions[f.name]]));
  $('explain-note').textContent = `${fmt(base)} on average ${total < base ? '−' : '+'} ${fmt(Math.abs(total - base))} for this row = ${fmt(total)}`;
}

/** Draws one horizontal bar per feature (the largest ones), rightwards when it raises the output. */
function drawContributions(pairs) {
  let shown = pairs;
  if (pairs.length > CHART_FEATURES) {
    shown = [...pairs].sort((a, b) => Math.abs(b[1]) - Math.abs(a[1])).slice(0, CHART_FEATURES);
    const rest = pairs.length - CHART_FEATURES;
    const sum = pairs.reduce((s, [, v]) => s + v, 0) - shown.reduce((s, [, v]) => s + v, 0);
    shown.push([`${rest} other features`, sum]);
  }
  // Drawn at about its own size in the result column, so its text reads at 11 px.
  const row = 18;
  const [width, labels, half] = [250, 82, 56];
  const zero = labels + half + 6;
  const top = Math.max(...shown.map(([, v]) => Math.abs(v))) || 1;
  const svg = $('explain-chart');
  svg.setAttribute('viewBox', `0 0 ${width} ${shown.length * row + 4}`);
  const el = (name, attrs, text) => {
    const node = document.createElementNS(SVG, name);
    for (const [a, v] of Object.entries(attrs)) node.setAttribute(a, v);
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const bars = shown.map(([name, v], i) => {
    const y = i * row + 2;
    const w = (Math.abs(v) / top) * half;
    const g = el('g', { class: 'contribution', 'data-feature': name, 'data-value': String(v) });
    g.append(
      el('text', { x: labels, y: y + 13, 'text-anchor': 'end' }, name.length > 14 ? `${name.slice(0, 13)}…` : name),
      el('rect', { x: v < 0 ? zero - w : zero, y: y + 3, width: Math.max(w, 0.5), height: row - 6, rx: 2, class: v < 0 ? 'down' : 'up' }),
      el('text', { x: width - 2, y: y + 13, 'text-anchor': 'end' }, `${v < 0 ? '−' : '+'}${fmt(Math.abs(v), 2)}`),
    );
    return g;
  });
  svg.replaceChildren(el('line', { class: 'axis', x1: zero, x2: zero, y1: 0, y2: shown.length * row + 4 }), ...bars);
}

function renderPrediction(p) {
  const label = $('prediction-label');
  const bars = $('bars');
  if ('value' in p) {
    $('result-caption').textContent = 'Predicted value';
    label.textContent = fmt(p.value, 6);
    label.dataset.value = String(p.value);
    $('confidence').textContent = '';
    bars.replaceChildren();
    return;
  }
  $('result-caption').textContent = 'Prediction';
  label.textContent = String(p.label);
  label.dataset.value = String(p.label);
  $('confidence').textContent = `${(p.confidence * 100).toFixed(1)} % confident`;
  const entries = Object.entries(p.probabilities);
  const shown = entries.length > 12 ? [...entries].sort((a, b) => b[1] - a[1]).slice(0, 12) : entries;
  if (bars.children.length !== shown.length || entries.length > 12) {
    bars.replaceChildren(
      ...shown.map((_, i) => {
        const li = document.createElement('li');
        li.className = 'bar';
        li.innerHTML = '<span class="name"></span><span class="value"></span><span class="track"><span class="fill"></span></span>';
        li.querySelector('.fill').style.background = `var(${COLORS[i % COLORS.length]})`;
        return li;
      }),
    );
  }
  shown.forEach(([name, prob], i) => {
    const li = bars.children[i];
    li.dataset.class = name;
    li.dataset.p = String(prob);
    li.classList.toggle('top', name === String(p.label));
    li.querySelector('.name').textContent = name;
    li.querySelector('.value').textContent = `${(prob * 100).toFixed(1)} %`;
    li.querySelector('.fill').style.width = `${prob * 100}%`;
  });
}

function describeModel(name) {
  const s = state.model.schema;
  $('model-title').textContent = name;
  const what = s.task === 'classification' ? `${s.classes.length} classes` : 'regression';
  $('model-info').textContent =
    `${s.source} · ${s.trees} trees, depth ${s.maxDepth} · ${s.features.length} features · ${what} · ${kb(s.bytes)}`;
}

function useModel(model, name, isIris) {
  state.model?.free?.();
  state.model = model;
  state.isIris = isIris;
  if (isIris) {
    irisExplainer ??= fetch(IRIS_WITH_COVER).then((r) => Model.load(r)).catch((e) => {
      irisExplainer = null; // tried again with the next Iris
      throw e;
    });
  }
  state.explainer = isIris ? irisExplainer : Promise.resolve(model);
  describeModel(name);
  buildForm();
  predictNow();
  $('back-to-iris').hidden = isIris;
  clearBatch();
}

function startsWith(bytes, magic) {
  return magic.every((b, i) => bytes[i] === b);
}

async function loadModelFile(file) {
  showError('model-error', null);
  $('model-status').textContent = `Reading ${file.name}…`;
  try {
    let bytes = new Uint8Array(await file.arrayBuffer());
    let how = 'loaded';
    if (!startsWith(bytes, EWM_MAGIC)) {
      $('model-status').textContent = `Converting ${file.name} in the page…`;
      let convert;
      try {
        ({ convert } = await import('/pkg/convert.js'));
      } catch (e) {
        throw new Error(`${file.name} is not an Edgewood model (.ewm), and the converter could not be loaded: ${e.message}`);
      }
      const t = performance.now();
      bytes = await convert(bytes);
      how = `converted in ${(performance.now() - t).toFixed(0)} ms`;
    }
    const model = await Model.load(bytes);
    useModel(model, file.name, false);
    $('model-status').textContent = `${file.name}: ${how}, ${kb(bytes.length)}.`;
  } catch (e) {
    $('model-status').textContent = '';
    showError('model-error', `Could not use ${file.name}: ${e.message}`);
  }
}

// ---- CSV ----

/** Parses CSV text (RFC 4180 quoting) into rows of cells. */
function parseCsv(text) {
  const rows = [];
  let row = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i++;
        } else quoted = false;
      } else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += c;
  }
  if (cell !== '' || row.length) {
    row.push(cell);
    rows.push(row);
  }
  return rows.filter((r) => !(r.length === 1 && r[0].trim() === ''));
}

function csvCell(s) {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function clearBatch() {
  if (state.downloadUrl) URL.revokeObjectURL(state.downloadUrl);
  state.downloadUrl = null;
  $('download').hidden = true;
  $('preview').hidden = true;
  $('batch-status').textContent = '';
  $('batch-progress').hidden = true;
  showError('batch-error', null);
  showError('batch-warning', null);
}

const nextFrame = () => new Promise((r) => setTimeout(r, 0));

/** Whether the features are the placeholders an importer gives a model that stored no
 * names: one prefix, not ending in a digit, then the column index (x0, f0, X_0). */
function placeholderNames(features) {
  const m = /^(.*\D|)0$/.exec(features[0].name);
  if (!m) return false;
  return features.every((f, i) => f.name === `${m[1]}${i}`);
}

async function predictCsv(file) {
  clearBatch();
  const model = state.model;
  const { features, classes, task } = model.schema;
  let table;
  try {
    table = parseCsv(await file.text());
  } catch (e) {
    showError('batch-error', `Could not read ${file.name}: ${e.message}`);
    return;
  }
  if (table.length < 1) {
    showError('batch-error', `${file.name} is empty: it needs a header row naming the features.`);
    return;
  }
  const header = table[0].map((h) => h.trim());
  const rows = table.slice(1);
  let columns = features.map((f) => header.indexOf(f.name));
  let absent = features.filter((_, i) => columns[i] < 0).map((f) => `'${f.name}'`);
  if (absent.length && header.length === features.length && placeholderNames(features)) {
    // A model fit on a bare array stored no names: columns by position, as
    // scikit-learn (and `edgewood predict`) take them, with one warning.
    columns = features.map((_, i) => i);
    absent = [];
    showError('batch-warning',
      `Warning: the model stored no feature names (${features[0].name}, …): taking the ${features.length} columns of ${file.name} in order.`);
  }
  if (absent.length) {
    showError('batch-error',
      `${file.name} has no column ${absent.join(', ')}. The model needs the columns ${features.map((f) => f.name).join(', ')}.`);
    return;
  }
  const nf = features.length;
  const n = rows.length;
  const width = task === 'classification' ? classes.length : 1;
  const labels = new Array(n).fill('');
  const outputs = new Float64Array(n * width);
  const errors = new Array(n).fill('');
  $('batch-progress').hidden = false;
  const t0 = performance.now();
  let predicted = 0;
  for (let start = 0; start < n; start += BATCH_CHUNK) {
    const end = Math.min(n, start + BATCH_CHUNK);
    // Rows of this chunk whose cells are all numbers (or empty = missing).
    const ok = [];
    const data = new Float64Array((end - start) * nf);
    for (let r = start; r < end; r++) {
      const cells = rows[r];
      let bad = '';
      for (let j = 0; j < nf && !bad; j++) {
        const raw = (cells[columns[j]] ?? '').trim();
        const v = raw === '' ? NaN : Number(raw);
        if (raw !== '' && Number.isNaN(v) && raw.toLowerCase() !== 'nan') {
          bad = `'${raw}' in column '${features[j].name}' is not a number`;
        }
        data[ok.length * nf + j] = v;
      }
      if (bad) errors[r] = bad;
      else ok.push(r);
    }
    // Predict the good rows; a refused row is recorded and the rest go on.
    let from = 0;
    while (from < ok.length) {
      const part = data.subarray(from * nf, ok.length * nf);
      try {
        const out = model.predictBatch(part, ok.length - from);
        ok.slice(from).forEach((r, k) => store(r, out, k));
        predicted += ok.length - from;
        from = ok.length;
      } catch (e) {
        if (e.row === undefined) {
          showError('batch-error', `Prediction stopped: ${e.message}`);
          $('batch-progress').hidden = true;
          return;
        }
        if (e.row > 0) {
          const out = model.predictBatch(part.subarray(0, e.row * nf), e.row);
          ok.slice(from, from + e.row).forEach((r, k) => store(r, out, k));
          predicted += e.row;
        }
        errors[ok[from + e.row]] = e.message.replace(/^row \d+: /, '');
        from += e.row + 1;
      }
    }
    $('progress-bar').value = end / n;
    $('progress-text').textContent = `${end.toLocaleString('en')} / ${n.toLocaleString('en')} rows`;
    await nextFrame();
  }
  const ms = performance.now() - t0;

  function store(r, out, k) {
    if (task === 'classification') {
      labels[r] = String(out.labels[k]);
      outputs.set(out.probabilities.subarray(k * width, k * width + width), r * width);
    } else {
      outputs[r] = out.values[k];
    }
  }

  const outHeader = task === 'classification'
    ? ['label', ...classes.map((c) => `p_${c}`)]
    : ['value'];
  const lines = [[...header, ...outHeader, 'error'].map(csvCell).join(',')];
  for (let r = 0; r < n; r++) {
    const cells = header.map((_, j) => rows[r][j] ?? '');
    const out = errors[r]
      ? outHeader.map(() => '')
      : task === 'classification'
        ? [labels[r], ...Array.from(outputs.subarray(r * width, r * width + width), String)]
        : [String(outputs[r])];
    lines.push([...cells, ...out, errors[r]].map(csvCell).join(','));
  }
  const blob = new Blob([lines.join('\n') + '\n'], { type: 'text/csv' });
  state.downloadUrl = URL.createObjectURL(blob);
  const link = $('download');
  link.href = state.downloadUrl;
  link.download = file.name.replace(/\.csv$/i, '') + '.predictions.csv';
  link.textContent = `Download ${link.download}`;
  link.hidden = false;
  const refused = errors.filter(Boolean).length;
  const rate = ms > 0 ? ` (${Math.round(predicted / (ms / 1000)).toLocaleString('en')} rows/s)` : '';
  $('batch-status').textContent =
    `Predicted ${predicted.toLocaleString('en')} of ${n.toLocaleString('en')} rows in ${ms.toFixed(1)} ms${rate}` +
    (refused ? ` · ${refused.toLocaleString('en')} refused: see the error column.` : '.');
  $('batch-card').dataset.rows = String(n);
  renderPreview(header, columns, outHeader, labels, outputs, errors, width, rows, task);
}

function renderPreview(header, columns, outHeader, labels, outputs, errors, width, rows, task) {
  const table = $('preview');
  const feat = columns.map((j) => header[j]);
  const head = [...feat, task === 'classification' ? 'label' : 'value', task === 'classification' ? 'confidence' : '', ''];
  const tr = (cells, tag) => `<tr>${cells.map((c, i) => `<${tag}${i === feat.length || i === head.length - 1 ? ' class="text"' : ''}>${c}</${tag}>`).join('')}</tr>`;
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const body = [];
  for (let r = 0; r < Math.min(PREVIEW_ROWS, rows.length); r++) {
    const values = columns.map((j) => esc(rows[r][j] ?? ''));
    if (errors[r]) {
      body.push(`<tr>${values.map((v) => `<td>${v}</td>`).join('')}<td class="err" colspan="3">${esc(errors[r])}</td></tr>`);
    } else if (task === 'classification') {
      const probs = outputs.subarray(r * width, r * width + width);
      body.push(tr([...values, esc(labels[r]), `${(Math.max(...probs) * 100).toFixed(1)} %`, ''], 'td'));
    } else {
      body.push(tr([...values, fmt(outputs[r], 6), '', ''], 'td'));
    }
  }
  const more = rows.length > PREVIEW_ROWS ? `<caption>First ${PREVIEW_ROWS} of ${rows.length.toLocaleString('en')} rows</caption>` : '';
  table.innerHTML = `${more}<thead>${tr(head.map(esc), 'th')}</thead><tbody>${body.join('')}</tbody>`;
  table.hidden = false;
}

// ---- wiring ----

function dropZone(id, inputId, onFile) {
  const zone = $(id);
  const input = $(inputId);
  input.addEventListener('change', () => {
    if (input.files[0]) onFile(input.files[0]);
    input.value = '';
  });
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    const file = e.dataTransfer.files[0];
    if (file) onFile(file);
  });
}

function start() {
  useModel(Model.iris(), 'Iris', true);
  const firstPrediction = performance.now();
  const v = version();
  const wasm = performance.getEntriesByType('resource').find((r) => /edgewood(_simd)?_bg\.wasm$/.test(r.name));
  $('engine-info').textContent =
    `Engine ${v.version} · model format ${v.format}` +
    (wasm?.encodedBodySize ? ` · ${kb(wasm.encodedBodySize)} of WebAssembly` : '') +
    ` · first prediction ${firstPrediction.toFixed(0)} ms after the page started loading`;
  dropZone('model-drop', 'model-file', loadModelFile);
  dropZone('csv-drop', 'csv-file', predictCsv);
  $('back-to-iris').addEventListener('click', () => {
    useModel(Model.iris(), 'Iris', true);
    $('model-status').textContent = '';
    showError('model-error', null);
  });
  // For the browser tests: the page is interactive.
  window.edgewoodDemo = {
    Model,
    get model() { return state.model; },
    get explainer() { return state.explainer; },
  };
  document.body.dataset.ready = 'true';
}

try {
  start();
} catch (e) {
  $('engine-info').textContent = '';
  showError('predict-error', `The engine could not start: ${e.message}`);
}
