// zhongtai web UI: a small single-page app over the same-origin JSON API.
// Plain JavaScript, no build step, no framework. Hash routes:
//   #/dashboards/<id>  #/exceptions  #/forms/<name>  #/sql  #/ops  #/reports
// Test hooks: body[data-ready] is "0" while a page loads and "1" when it has finished,
// body[data-view] names the page, body[data-seq] counts loads; window.__zt exposes the panel
// data of the dashboards shown (see tests/ui/check.mjs).
'use strict';

(function () {
  // ---------------------------------------------------------------------------------------
  // Strings, in both languages. Every key must exist in both (window.__zt.missing() checks).
  const DICT = {
    en: {
      'app.name': 'zhongtai',
      'nav.dashboards': 'Dashboards',
      'nav.exceptions': 'Exceptions',
      'nav.forms': 'Forms',
      'nav.sql': 'SQL console',
      'nav.ops': 'Connectors & jobs',
      'nav.reports': 'Reports',
      'lang.switch': '中文 / EN',
      'lang.title': 'Switch language: 中文 / English',
      'login.title': 'Sign in',
      'login.sub': 'E-commerce data hub',
      'login.user': 'Username',
      'login.pass': 'Password',
      'login.submit': 'Sign in',
      'login.busy': 'Signing in…',
      'login.failed': 'Wrong username or password.',
      'login.missing': 'Enter your username and password.',
      'logout': 'Sign out',
      'role.admin': 'Administrator',
      'role.finance': 'Finance',
      'role.manager': 'Manager',
      'role.operator': 'Operator',
      'role.integrator': 'Integrator',
      'scope.shops': '{n} shops',
      'loading': 'Loading…',
      'refresh': 'Refresh',
      'cancel': 'Cancel',
      'yes': 'yes',
      'no': 'no',
      'updated': 'Updated {time}',
      'err.forbidden': 'Sorry, this is not allowed for your role ({role}).',
      'err.forbiddenAction': 'Sorry, your role ({role}) may not do this.',
      'err.network': 'The server cannot be reached. Check your connection and try again.',
      'err.generic': 'Something went wrong',
      'err.invalid': 'Not accepted:',
      'err.page': 'No such page.',
      'err.charts': 'The chart library could not be loaded.',
      'filter.from': 'From',
      'filter.to': 'To',
      'filter.shops': 'Shops',
      'filter.allShops': 'All shops',
      'filter.nShops': '{n} shops',
      'filter.clear': 'Clear filters',
      'filter.platform': 'Platform',
      'filter.category': 'Category',
      'filter.all': 'All',
      'panel.unfiltered': 'Not narrowed by: {dims}',
      'filter.allTime': 'All time',
      'excel': 'Excel',
      'dash.title': 'Dashboards',
      'dash.none': 'No dashboards are defined.',
      'dash.unknown': 'There is no dashboard "{id}".',
      'dash.period': 'Period: {from} – {to}',
      'panel.table': 'Table',
      'panel.hideTable': 'Hide table',
      'panel.rows': '{n} rows',
      'panel.row': '1 row',
      'panel.nodata': 'No data for these filters.',
      'panel.error': 'This panel could not be shown:',
      'exc.title': 'Exception queue',
      'exc.status': 'Status',
      'exc.count': '{n} breaks (largest amount at stake first)',
      'exc.empty': 'No breaks with this status.',
      'exc.resolve': 'Resolve',
      'exc.ignore': 'Ignore',
      'exc.reopen': 'Reopen',
      'exc.addNote': 'Note',
      'exc.notePh': 'Note (required to resolve or ignore)',
      'exc.confirm': 'Confirm',
      'exc.done': 'Break {id}: {status}',
      'status.open': 'Open',
      'status.resolved': 'Resolved',
      'status.ignored': 'Ignored',
      'status.all': 'All',
      'forms.title': 'Entry forms',
      'forms.none': 'No forms are available to you.',
      'forms.unknown': 'There is no form "{name}".',
      'forms.group.finance': 'Finance',
      'forms.group.operations': 'Operations',
      'forms.group.catalog': 'Catalog',
      'forms.group.other': 'Other',
      'forms.submit': 'Submit',
      'forms.busy': 'Submitting…',
      'forms.clear': 'Clear',
      'forms.addLine': 'Add line',
      'forms.removeLine': 'Remove',
      'forms.required': 'required',
      'forms.choose': '— choose —',
      'forms.kvHint': 'One key=value per line.',
      'forms.listHint': 'Separate with commas.',
      'forms.saved': 'Saved {form} {id} (version {version}). It shows in dashboards after the next flush.',
      'forms.invalid': 'Please correct the marked fields.',
      'forms.key': 'Record id field: {key} (generated when left empty).',
      'forms.lineErrors': 'Line {n}: {msg}',
      'sql.title': 'SQL console',
      'sql.hint': 'One read-only SELECT, WITH or EXPLAIN statement. Ctrl+Enter runs it.',
      'sql.run': 'Run',
      'sql.running': 'Running…',
      'sql.rows': '{n} rows in {ms} ms',
      'sql.empty': 'The query returned no rows.',
      'ops.title': 'Connectors & jobs',
      'ops.connectors': 'Connectors',
      'ops.jobs': 'Recent jobs',
      'ops.noConnectors': 'No connectors are registered.',
      'ops.noJobs': 'No job has run yet.',
      'ops.set': 'set',
      'ops.missing': 'missing',
      'rep.title': 'Reports',
      'rep.none': 'No reports are defined.',
      'rep.hint': 'Downloads cover the period and shops chosen here.',
      'rep.html': 'Web page',
      'rep.pdf': 'PDF',
      'rep.xlsx': 'Excel',
      'col.break_id': 'Break',
      'col.check_name': 'Check',
      'col.kind': 'Kind',
      'col.period': 'Period',
      'col.break_date': 'Date',
      'col.shop_id': 'Shop',
      'col.expected': 'Expected',
      'col.actual': 'Actual',
      'col.difference': 'Difference',
      'col.amount_at_stake': 'At stake',
      'col.status': 'Status',
      'col.note': 'Note',
      'col.actions': 'Actions',
      'col.name': 'Name',
      'col.description': 'Description',
      'col.schedule': 'Schedule',
      'col.streams': 'Streams',
      'col.secrets': 'Secrets',
      'col.run_id': 'Run',
      'col.target': 'Target',
      'col.trigger': 'Trigger',
      'col.requested_by': 'Requested by',
      'col.attempts': 'Attempts',
      'col.queued_at': 'Queued',
      'col.started_at': 'Started',
      'col.finished_at': 'Finished',
      'col.duration': 'Duration',
      'col.rows': 'Rows',
      'col.error': 'Error',
    },
    zh: {
      'app.name': '中台',
      'nav.dashboards': '看板',
      'nav.exceptions': '异常队列',
      'nav.forms': '录入表单',
      'nav.sql': 'SQL 查询',
      'nav.ops': '连接器与任务',
      'nav.reports': '报表',
      'lang.switch': '中文 / EN',
      'lang.title': '切换语言：中文 / English',
      'login.title': '登录',
      'login.sub': '电商数据中台',
      'login.user': '用户名',
      'login.pass': '密码',
      'login.submit': '登录',
      'login.busy': '正在登录…',
      'login.failed': '用户名或密码错误。',
      'login.missing': '请输入用户名和密码。',
      'logout': '退出',
      'role.admin': '管理员',
      'role.finance': '财务',
      'role.manager': '经理',
      'role.operator': '运营',
      'role.integrator': '集成',
      'scope.shops': '{n} 个店铺',
      'loading': '加载中…',
      'refresh': '刷新',
      'cancel': '取消',
      'yes': '是',
      'no': '否',
      'updated': '更新于 {time}',
      'err.forbidden': '抱歉，您的角色（{role}）无权查看此内容。',
      'err.forbiddenAction': '抱歉，您的角色（{role}）无权执行此操作。',
      'err.network': '无法连接服务器，请检查网络后重试。',
      'err.generic': '出错了',
      'err.invalid': '未被接受：',
      'err.page': '没有此页面。',
      'err.charts': '图表库加载失败。',
      'filter.from': '开始日期',
      'filter.to': '结束日期',
      'filter.shops': '店铺',
      'filter.allShops': '全部店铺',
      'filter.nShops': '{n} 个店铺',
      'filter.clear': '清除筛选',
      'filter.platform': '平台',
      'filter.category': '品类',
      'filter.all': '全部',
      'panel.unfiltered': '不受此筛选影响：{dims}',
      'filter.allTime': '全部时间',
      'excel': 'Excel',
      'dash.title': '看板',
      'dash.none': '尚未定义看板。',
      'dash.unknown': '没有看板“{id}”。',
      'dash.period': '期间：{from} 至 {to}',
      'panel.table': '表格',
      'panel.hideTable': '隐藏表格',
      'panel.rows': '{n} 行',
      'panel.row': '1 行',
      'panel.nodata': '当前筛选条件下没有数据。',
      'panel.error': '此图表无法显示：',
      'exc.title': '异常队列',
      'exc.status': '状态',
      'exc.count': '{n} 条差异（按涉及金额从大到小）',
      'exc.empty': '没有该状态的差异。',
      'exc.resolve': '解决',
      'exc.ignore': '忽略',
      'exc.reopen': '重新打开',
      'exc.addNote': '备注',
      'exc.notePh': '备注（解决或忽略时必填）',
      'exc.confirm': '确认',
      'exc.done': '差异 {id}：{status}',
      'status.open': '未处理',
      'status.resolved': '已解决',
      'status.ignored': '已忽略',
      'status.all': '全部',
      'forms.title': '录入表单',
      'forms.none': '没有您可以使用的表单。',
      'forms.unknown': '没有表单“{name}”。',
      'forms.group.finance': '财务',
      'forms.group.operations': '运营',
      'forms.group.catalog': '商品资料',
      'forms.group.other': '其他',
      'forms.submit': '提交',
      'forms.busy': '提交中…',
      'forms.clear': '清空',
      'forms.addLine': '添加一行',
      'forms.removeLine': '删除',
      'forms.required': '必填',
      'forms.choose': '— 请选择 —',
      'forms.kvHint': '每行一个“键=值”。',
      'forms.listHint': '多个值用逗号分隔。',
      'forms.saved': '已保存{form} {id}（版本 {version}），下次写入数据湖后会出现在看板中。',
      'forms.invalid': '请更正标出的字段。',
      'forms.key': '记录编号字段：{key}（留空时自动生成）。',
      'forms.lineErrors': '第 {n} 行：{msg}',
      'sql.title': 'SQL 查询',
      'sql.hint': '仅限一条只读的 SELECT、WITH 或 EXPLAIN 语句。按 Ctrl+Enter 运行。',
      'sql.run': '运行',
      'sql.running': '运行中…',
      'sql.rows': '{n} 行，用时 {ms} 毫秒',
      'sql.empty': '查询没有返回数据。',
      'ops.title': '连接器与任务',
      'ops.connectors': '连接器',
      'ops.jobs': '最近的任务',
      'ops.noConnectors': '尚未注册连接器。',
      'ops.noJobs': '还没有运行过任务。',
      'ops.set': '已设置',
      'ops.missing': '未设置',
      'rep.title': '报表',
      'rep.none': '尚未定义报表。',
      'rep.hint': '下载内容按此处选择的期间和店铺生成。',
      'rep.html': '网页',
      'rep.pdf': 'PDF',
      'rep.xlsx': 'Excel',
      'col.break_id': '差异编号',
      'col.check_name': '检查项',
      'col.kind': '类型',
      'col.period': '期间',
      'col.break_date': '日期',
      'col.shop_id': '店铺',
      'col.expected': '预期',
      'col.actual': '实际',
      'col.difference': '差额',
      'col.amount_at_stake': '涉及金额',
      'col.status': '状态',
      'col.note': '备注',
      'col.actions': '操作',
      'col.name': '名称',
      'col.description': '说明',
      'col.schedule': '计划',
      'col.streams': '数据流',
      'col.secrets': '密钥',
      'col.run_id': '运行编号',
      'col.target': '目标',
      'col.trigger': '触发方式',
      'col.requested_by': '发起人',
      'col.attempts': '尝试次数',
      'col.queued_at': '排队时间',
      'col.started_at': '开始时间',
      'col.finished_at': '结束时间',
      'col.duration': '耗时',
      'col.rows': '行数',
      'col.error': '错误',
    },
  };

  const LANG_KEY = 'zhongtai.lang';
  const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "PingFang SC", ' +
    '"Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", "WenQuanYi Micro Hei", ZhongtaiCJK, sans-serif';

  function store(key, value) {
    try {
      if (value === undefined) return localStorage.getItem(key);
      localStorage.setItem(key, value);
    } catch (_) { /* storage may be disabled */ }
    return null;
  }

  function initialLang() {
    const saved = store(LANG_KEY);
    if (saved === 'zh' || saved === 'en') return saved;
    const langs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || ''];
    return String(langs[0] || '').toLowerCase().startsWith('zh') ? 'zh' : 'en';
  }

  const state = {
    lang: initialLang(),
    me: null,
    branding: null,
    dashList: null,
    filters: { from: '', to: '', shops: [], platform: '', category: '' },
    seq: 0,
    views: [],
    after: null,
  };

  function t(key, vars) {
    let s = DICT[state.lang][key];
    if (s === undefined) s = DICT.en[key];
    if (s === undefined) s = key;
    if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] === undefined || vars[k] === null ? m : String(vars[k])));
    return s;
  }

  // A dashboard, panel, form or report title in the current language.
  function ttl(o) {
    if (!o) return '';
    if (state.lang === 'zh' && o.title_zh) return o.title_zh;
    return o.title || o.title_zh || o.id || o.name || '';
  }

  // A field error from the server (always English) in the page's language. The common
  // messages are translated; any other is shown as the server words it.
  const FIELD_MSG_ZH = [
    [/^is required$/, () => '必填'],
    [/^must not be blank$/, () => '不能为空'],
    [/^is not a field of this form$/, () => '不是此表单的字段'],
    [/^must be a whole number(?:, got (.+))?$/, (m) => '须为整数' + (m[1] ? `，收到 ${m[1]}` : '')],
    [/^must be between (\S+) and (\S+), got (.+)$/, (m) => `须在 ${m[1]} 到 ${m[2]} 之间，收到 ${m[3]}`],
    [/^must be at least (\S+), got (.+)$/, (m) => `不能小于 ${m[1]}，收到 ${m[2]}`],
    [/^must be an amount with at most two decimals, got (.+)$/, (m) => `须为金额（最多两位小数），收到 ${m[1]}`],
    [/^must be a date YYYY-MM-DD, got (.+)$/, (m) => `须为日期 YYYY-MM-DD，收到 ${m[1]}`],
    [/^must be a month YYYY-MM, got (.+)$/, (m) => `须为月份 YYYY-MM，收到 ${m[1]}`],
    [/^must be one of (.+), got (.+)$/, (m) => `须为 ${m[1]} 之一，收到 ${m[2]}`],
    [/^unknown (.+?) (".*")$/, (m) => `未知的${m[1]} ${m[2]}`],
  ];
  function fieldMsg(msg) {
    if (state.lang !== 'zh') return msg;
    for (const [re, zh] of FIELD_MSG_ZH) {
      const m = re.exec(msg);
      if (m) return zh(m);
    }
    return msg;
  }

  // ---------------------------------------------------------------------------------------
  // DOM helpers. No inline handlers: events are attached with addEventListener.
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === undefined || v === null || v === false) continue;
        if (k === 'class') el.className = v;
        else if (k === 'dataset') Object.assign(el.dataset, v);
        else if (k === 'text') el.textContent = v;
        else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
        else if (k === 'value' || k === 'checked' || k === 'selected') el[k] = v;
        else el.setAttribute(k, v === true ? '' : String(v));
      }
    }
    append(el, children);
    return el;
  }

  function append(el, children) {
    for (const c of children) {
      if (c === undefined || c === null || c === false) continue;
      if (Array.isArray(c)) append(el, c);
      else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
  }

  const $ = (sel) => document.querySelector(sel);
  const enc = encodeURIComponent;

  function toast(text) {
    const el = $('#toast');
    el.textContent = text;
    el.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { el.hidden = true; }, 5000);
  }

  function randomKey() {
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  }

  // ---------------------------------------------------------------------------------------
  // The API.
  class ApiError extends Error {
    constructor(status, code, message, fields) {
      super(message);
      this.status = status;
      this.code = code;
      this.fields = fields || [];
    }
  }

  // JSON whose decimals keep their exact text ("12.30" stays "12.30"): numbers with a
  // fraction or beyond 2^53 become their source text where the browser gives it.
  function parseExact(text) {
    return JSON.parse(text, function (key, value, ctx) {
      if (typeof value === 'number' && ctx && typeof ctx.source === 'string' &&
        (/[.eE]/.test(ctx.source) || !Number.isSafeInteger(value))) {
        return ctx.source;
      }
      return value;
    });
  }

  async function api(path, opts = {}) {
    const headers = { 'X-Requested-With': 'zhongtai', Accept: 'application/json' };
    let body;
    if (opts.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(opts.body);
    }
    Object.assign(headers, opts.headers || {});
    let res;
    try {
      res = await fetch(path, {
        method: opts.method || (body === undefined ? 'GET' : 'POST'),
        headers,
        body,
        credentials: 'same-origin',
        cache: 'no-store',
      });
    } catch (_) {
      throw new ApiError(0, 'network', t('err.network'), []);
    }
    const text = await res.text();
    let data = null;
    if (text) {
      try {
        data = opts.exact ? parseExact(text) : JSON.parse(text);
      } catch (_) {
        data = null;
      }
    }
    if (res.status === 401 && !opts.noAuthRedirect) {
      unauthenticated();
    }
    if (!res.ok) {
      const e = (data && data.error) || {};
      throw new ApiError(res.status, e.code || '', e.message || res.statusText || String(res.status), e.fields);
    }
    return data;
  }

  function unauthenticated() {
    const had = state.me !== null;
    state.me = null;
    state.dashList = null;
    if (had) {
      const h = location.hash;
      state.after = h && !h.startsWith('#/login') ? h : state.after;
      showLogin(++state.seq);
    }
  }

  // ---------------------------------------------------------------------------------------
  // Page state for tests and waiting.
  window.__zt = {
    panels: {},
    current: null,
    get lang() { return state.lang; },
    get me() { return state.me; },
    missing() {
      const out = [];
      for (const k of Object.keys(DICT.en)) if (!(k in DICT.zh)) out.push('zh:' + k);
      for (const k of Object.keys(DICT.zh)) if (!(k in DICT.en)) out.push('en:' + k);
      return out;
    },
  };

  function busy(view) {
    document.body.dataset.ready = '0';
    if (view !== null && view !== undefined) document.body.dataset.view = view;
  }

  function ready(seq) {
    if (seq !== state.seq) return;
    document.body.dataset.seq = String(seq);
    document.body.dataset.ready = '1';
  }

  // ---------------------------------------------------------------------------------------
  // Messages.
  function roleName() {
    const r = state.me && state.me.role;
    return r ? t('role.' + r) : '?';
  }

  function errorBox(e) {
    if (e && e.status === 403) {
      return h('div', { class: 'msg forbidden', role: 'status', dataset: { forbidden: '1' } },
        t('err.forbidden', { role: roleName() }),
        e.message ? h('span', { class: 'detail' }, e.message) : null);
    }
    const fields = (e && e.fields) || [];
    if (e && e.status === 422) {
      return h('div', { class: 'msg error', role: 'alert', dataset: { invalid: '1' } },
        t('err.invalid'),
        fields.length ? h('ul', null, fields.map((f) => h('li', null, f.field && f.field !== '(body)' ? `${f.field}: ${f.message}` : f.message)))
          : h('span', { class: 'detail' }, e.message));
    }
    return h('div', { class: 'msg error', role: 'alert' },
      t('err.generic') + (e && e.status ? ` (${e.status})` : '') + ': ' + ((e && e.message) || String(e)),
      fields.length > 1 ? h('ul', null, fields.map((f) => h('li', null, `${f.field}: ${f.message}`))) : null);
  }

  function info(text, cls) {
    return h('div', { class: 'msg ' + (cls || 'info') }, text);
  }

  // ---------------------------------------------------------------------------------------
  // Branding and the header.
  function applyBranding(b, withLogo) {
    b = b && typeof b === 'object' ? b : {};
    const company = typeof b.company === 'string' ? b.company.trim() : '';
    $('#company').textContent = company || t('app.name');
    document.title = company || t('app.name');
    const root = document.documentElement.style;
    const hex = /^#[0-9a-fA-F]{3,8}$/;
    if (typeof b.primary_color === 'string' && hex.test(b.primary_color)) root.setProperty('--primary', b.primary_color);
    else root.removeProperty('--primary');
    if (typeof b.accent_color === 'string' && hex.test(b.accent_color)) root.setProperty('--accent', b.accent_color);
    else root.removeProperty('--accent');
    const img = $('#logo');
    if (withLogo && b.logo === true) {
      if (!img.getAttribute('src')) img.setAttribute('src', '/ui/logo');
      img.alt = company;
      img.hidden = false;
    } else {
      img.hidden = true;
    }
  }

  // The branding the server writes into the page (<script type="application/json" id="zt-branding">),
  // so the sign-in page shows it too.
  function pageBranding() {
    const el = document.getElementById('zt-branding');
    if (!el) return null;
    try {
      const b = JSON.parse(el.textContent || 'null');
      return b && typeof b === 'object' ? b : null;
    } catch (_) {
      return null;
    }
  }

  function cssVar(name, fallback) {
    const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return v || fallback;
  }

  const NAV = [
    ['dashboards', 'nav.dashboards'],
    ['exceptions', 'nav.exceptions'],
    ['forms', 'nav.forms'],
    ['sql', 'nav.sql'],
    ['ops', 'nav.ops'],
    ['reports', 'nav.reports'],
  ];

  function userLabel(me) {
    if (!me) return '';
    let name = me.name || me.username || me.user || me.display_name || me.id || '';
    if (typeof name !== 'string') name = JSON.stringify(name);
    name = name.replace(/^(user|token):/, '');
    const parts = [name];
    if (me.role) parts.push(t('role.' + me.role));
    if (Array.isArray(me.shops) && me.shops.length) {
      parts.push(me.shops.length === 1 ? String(me.shops[0]) : t('scope.shops', { n: me.shops.length }));
    }
    return parts.filter(Boolean).join(' · ');
  }

  function renderChrome(page) {
    document.documentElement.lang = state.lang === 'zh' ? 'zh-CN' : 'en';
    $('#top').hidden = false;
    applyBranding(state.branding, true);
    const nav = $('#nav');
    nav.replaceChildren(...NAV.map(([id, key]) =>
      h('a', { href: '#/' + id, class: id === page ? 'active' : '', dataset: { nav: id } }, t(key))));
    $('#user').textContent = userLabel(state.me);
    $('#lang').textContent = t('lang.switch');
    $('#lang').title = t('lang.title');
    $('#logout').textContent = t('logout');
    $('#logout').hidden = false;
  }

  function freshMain() {
    const old = $('#main');
    const main = h('main', { id: 'main', class: 'main' });
    old.replaceWith(main);
    return main;
  }

  // ---------------------------------------------------------------------------------------
  // Login.
  function showLogin(seq) {
    busy('login');
    closeViews();
    $('#top').hidden = true;
    document.documentElement.lang = state.lang === 'zh' ? 'zh-CN' : 'en';
    const brand = state.branding || pageBranding();
    applyBranding(brand, false);
    const company = (brand && typeof brand.company === 'string' && brand.company.trim()) || t('app.name');
    const logo = brand && brand.logo === true ? h('img', { class: 'login-logo', src: '/ui/logo', alt: '' }) : null;
    if (logo) logo.addEventListener('error', () => { logo.hidden = true; });
    const main = freshMain();
    const user = h('input', { id: 'login-user', name: 'username', type: 'text', autocomplete: 'username', required: true });
    const pass = h('input', { id: 'login-pass', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
    const submit = h('button', { id: 'login-submit', class: 'btn primary', type: 'submit' }, t('login.submit'));
    const err = h('div', { id: 'login-error', role: 'alert' });
    const form = h('form', { class: 'card login', novalidate: true, autocomplete: 'on' },
      logo,
      h('h1', null, company),
      h('div', { class: 'sub' }, t('login.sub')),
      h('label', { for: 'login-user' }, t('login.user')), user,
      h('label', { for: 'login-pass' }, t('login.pass')), pass,
      err, submit,
      h('div', { class: 'lang-row' },
        h('button', { type: 'button', class: 'btn small', id: 'login-lang', onclick: () => { switchLang(); } }, t('lang.switch'))));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      err.replaceChildren();
      if (!user.value.trim() || !pass.value) {
        err.append(info(t('login.missing'), 'error'));
        return;
      }
      submit.disabled = true;
      submit.textContent = t('login.busy');
      try {
        await api('/api/v1/login', { method: 'POST', body: { username: user.value.trim(), password: pass.value }, noAuthRedirect: true });
        pass.value = '';
        const target = state.after && state.after !== '#/login' ? state.after : '#/dashboards';
        state.after = null;
        if (location.hash === target) route();
        else location.hash = target;
      } catch (e) {
        err.append(e.status === 401 ? info(t('login.failed'), 'error') : errorBox(e));
        submit.disabled = false;
        submit.textContent = t('login.submit');
        pass.focus();
      }
    });
    main.append(form);
    user.focus();
    ready(seq);
  }

  async function loadMe() {
    const me = await api('/api/v1/me', { noAuthRedirect: true });
    state.me = me && typeof me === 'object' ? me : {};
    state.branding = state.me.branding && typeof state.me.branding === 'object' ? state.me.branding : pageBranding();
  }

  async function logout() {
    try {
      await api('/api/v1/logout', { method: 'POST', noAuthRedirect: true });
    } catch (_) { /* the session is gone either way */ }
    state.me = null;
    state.dashList = null;
    state.after = null;
    window.__zt.panels = {};
    window.__zt.current = null;
    history.replaceState(null, '', '#/login');
    showLogin(++state.seq);
  }

  function switchLang() {
    state.lang = state.lang === 'zh' ? 'en' : 'zh';
    store(LANG_KEY, state.lang);
    if (!state.me) showLogin(++state.seq);
    else route();
  }

  // ---------------------------------------------------------------------------------------
  // The router.
  const PAGES = {
    dashboards: pageDashboards,
    exceptions: pageExceptions,
    forms: pageForms,
    sql: pageSql,
    ops: pageOps,
    reports: pageReports,
  };

  function parseHash() {
    const raw = location.hash.replace(/^#\/?/, '').split('?')[0];
    const parts = raw.split('/').filter(Boolean).map((p) => {
      try { return decodeURIComponent(p); } catch (_) { return p; }
    });
    return { page: parts[0] || '', rest: parts.slice(1) };
  }

  async function route() {
    const seq = ++state.seq;
    const { page, rest } = parseHash();
    busy([page, ...rest].join('/'));
    if (!state.me) {
      try {
        await loadMe();
      } catch (e) {
        if (seq !== state.seq) return;
        if (e.status === 401) {
          if (page && page !== 'login') state.after = location.hash;
          showLogin(seq);
          return;
        }
        const main = freshMain();
        main.append(errorBox(e), h('button', { class: 'btn', type: 'button', onclick: () => route() }, t('refresh')));
        ready(seq);
        return;
      }
      if (seq !== state.seq) return;
    }
    if (!PAGES[page]) {
      history.replaceState(null, '', '#/dashboards');
      route();
      return;
    }
    closeViews();
    renderChrome(page);
    const main = freshMain();
    main.append(h('div', { class: 'loading-text' }, t('loading')));
    try {
      await PAGES[page](main, rest, seq);
      const l = main.querySelector(':scope > .loading-text');
      if (l) l.remove();
    } catch (e) {
      if (e.status === 401 || seq !== state.seq) return;
      main.replaceChildren(errorBox(e));
    }
    ready(seq);
  }

  // ---------------------------------------------------------------------------------------
  // Value formatting.
  function decimalScale(type) {
    const m = /Decimal\d*\(\s*\d+\s*,\s*(-?\d+)\s*\)/.exec(type || '');
    return m ? Number(m[1]) : null;
  }

  function isNumericType(type) {
    return /^(U?Int|Float|Decimal)/.test(type || '');
  }

  // A cell of an API table: exact decimals as the server wrote them.
  function fmtCell(v, type) {
    if (v === null || v === undefined) return '';
    const scale = decimalScale(type);
    if (typeof v === 'number' && scale !== null && scale >= 0 && scale <= 20) return v.toFixed(scale);
    if (typeof v === 'object') return JSON.stringify(v);
    return String(v);
  }

  // A value of a chart's data, per the axis format of its field (",.2f" money, ".2%" rates).
  function fmtChartValue(v, format) {
    if (typeof v !== 'number') return v === null || v === undefined ? '' : String(v);
    if (format) {
      const m = /\.(\d+)([f%])$/.exec(format);
      if (m) {
        const d = Number(m[1]);
        return m[2] === '%' ? (v * 100).toFixed(d) + '%' : v.toFixed(d);
      }
    }
    return String(v);
  }

  function fmtTime(v) {
    if (v === null || v === undefined || v === '') return '';
    let d;
    if (typeof v === 'number') d = new Date(v > 1e11 ? v : v * 1000);
    else d = new Date(v);
    if (Number.isNaN(d.getTime())) return String(v);
    return d.toLocaleString(state.lang === 'zh' ? 'zh-CN' : 'en-GB', { hour12: false });
  }

  function fmtDuration(ms) {
    if (typeof ms !== 'number') return '';
    if (ms < 1000) return `${ms} ms`;
    const s = ms / 1000;
    if (s < 120) return `${s.toFixed(1)} s`;
    return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  }

  // {columns:[{name,type}], rows:[{...}] | [[...]]} or an array of objects → columns and rows.
  function toTable(data) {
    let columns = [];
    let rows = [];
    if (Array.isArray(data)) {
      rows = data;
    } else if (data && typeof data === 'object') {
      columns = Array.isArray(data.columns) ? data.columns : [];
      rows = Array.isArray(data.rows) ? data.rows : [];
    }
    columns = columns.map((c) => (typeof c === 'string' ? { name: c, type: '' } : { name: c.name, type: c.type || '' }));
    if (rows.length && Array.isArray(rows[0])) {
      rows = rows.map((r) => Object.fromEntries(columns.map((c, i) => [c.name, r[i]])));
    }
    if (!columns.length) {
      const seen = new Set();
      for (const r of rows) for (const k of Object.keys(r || {})) seen.add(k);
      columns = [...seen].map((name) => ({ name, type: '' }));
    }
    return { columns, rows };
  }

  function colLabel(name) {
    const k = 'col.' + name;
    return k in DICT.en ? t(k) : name;
  }

  // An HTML table of rows; `cells` may render a column specially.
  function dataTable(columns, rows, cells = {}) {
    const numeric = (c) => isNumericType(c.type) ||
      (!c.type && rows.some((r) => typeof (r || {})[c.name] === 'number'));
    const head = h('tr', null, columns.map((c) =>
      h('th', { class: numeric(c) ? 'num' : '', scope: 'col', title: c.type || null, dataset: { col: c.name } }, c.label || colLabel(c.name))));
    const body = rows.map((r) => h('tr', null, columns.map((c) => {
      const v = (r || {})[c.name];
      if (cells[c.name]) return cells[c.name](v, r);
      const text = fmtCell(v, c.type);
      const cls = [numeric(c) ? 'num' : '', v === null || v === undefined ? 'null' : '', text.length > 60 ? 'wrap' : ''].filter(Boolean).join(' ');
      return h('td', { class: cls || null, dataset: { col: c.name } }, v === null || v === undefined ? '—' : text);
    })));
    return h('table', { class: 'data' }, h('thead', null, head), h('tbody', null, body));
  }

  function statusBadge(s) {
    const key = 'status.' + s;
    return h('span', { class: 'status ' + String(s || '').replace(/[^a-z_-]/gi, '') }, key in DICT.en ? t(key) : String(s || ''));
  }

  // ---------------------------------------------------------------------------------------
  // Filters: period and shops, shared by dashboards and reports.
  function filterQuery() {
    const q = new URLSearchParams();
    if (state.filters.from) q.set('from', state.filters.from);
    if (state.filters.to) q.set('to', state.filters.to);
    for (const s of state.filters.shops) q.append('shop', s);
    if (state.filters.platform) q.set('platform', state.filters.platform);
    if (state.filters.category) q.set('category', state.filters.category);
    const text = q.toString();
    return text ? '?' + text : '';
  }

  function filterBar(shops, onChange, extras) {
    const f = state.filters;
    const from = h('input', { type: 'date', id: 'f-from', name: 'from', value: f.from, max: f.to || null });
    const to = h('input', { type: 'date', id: 'f-to', name: 'to', value: f.to, min: f.from || null });
    from.addEventListener('change', () => { f.from = from.value; to.min = from.value; onChange(); });
    to.addEventListener('change', () => { f.to = to.value; from.max = to.value; onChange(); });
    const known = new Set((shops || []).map((s) => s.shop_id));
    f.shops = f.shops.filter((s) => known.has(s));
    const summary = h('summary', { id: 'f-shops' });
    const shopLabel = () => {
      if (!f.shops.length) return t('filter.allShops');
      if (f.shops.length === 1) {
        const s = shops.find((x) => x.shop_id === f.shops[0]);
        return (s && (s.shop_name || s.shop_id)) || f.shops[0];
      }
      return t('filter.nShops', { n: f.shops.length });
    };
    summary.textContent = shopLabel();
    const boxes = (shops || []).map((s) => {
      const box = h('input', { type: 'checkbox', value: s.shop_id, dataset: { shop: s.shop_id }, checked: f.shops.includes(s.shop_id) });
      box.addEventListener('change', () => {
        const set = new Set(f.shops);
        if (box.checked) set.add(s.shop_id);
        else set.delete(s.shop_id);
        f.shops = (shops || []).map((x) => x.shop_id).filter((id) => set.has(id));
        summary.textContent = shopLabel();
        onChange();
      });
      return h('label', { title: s.shop_id }, box, h('span', null, s.shop_name || s.shop_id),
        s.platform ? h('span', { class: 'platform' }, s.platform) : null);
    });
    const details = h('details', { class: 'shops' }, summary, h('div', { class: 'menu' }, boxes));
    // Platform and category: choices from the dashboards list (when it was loaded).
    const lists = state.dashList || {};
    const select = (id, key, options) => {
      if (!options.length) return null;
      const sel = h('select', { id, name: key },
        h('option', { value: '' }, t('filter.all')),
        ...options.map(([value, label]) => h('option', { value, selected: f[key] === value }, label)));
      sel.addEventListener('change', () => { f[key] = sel.value; onChange(); });
      return sel;
    };
    const platformSel = select('f-platform', 'platform', (lists.platforms || []).map((p) => [p, p]));
    const categorySel = select('f-category', 'category',
      (lists.categories || []).map((c) => [c.category_id, c.name || c.category_id]));
    const clear = h('button', { type: 'button', class: 'btn', id: 'f-clear' }, t('filter.clear'));
    clear.addEventListener('click', () => {
      f.from = ''; f.to = ''; f.shops = []; f.platform = ''; f.category = '';
      if (platformSel) platformSel.value = '';
      if (categorySel) categorySel.value = '';
      from.value = ''; to.value = ''; from.max = ''; to.min = '';
      for (const b of details.querySelectorAll('input[type=checkbox]')) b.checked = false;
      summary.textContent = shopLabel();
      onChange();
    });
    return h('div', { class: 'toolbar', id: 'filters' },
      h('label', null, t('filter.from'), from),
      h('label', null, t('filter.to'), to),
      shops && shops.length ? h('label', null, t('filter.shops'), details) : null,
      platformSel ? h('label', null, t('filter.platform'), platformSel) : null,
      categorySel ? h('label', null, t('filter.category'), categorySel) : null,
      clear,
      h('span', { class: 'grow' }),
      extras || null);
  }

  // ---------------------------------------------------------------------------------------
  // Dashboards.
  async function dashboardsList() {
    if (!state.dashList) {
      const d = await api('/api/v1/dashboards');
      state.dashList = {
        dashboards: Array.isArray(d && d.dashboards) ? d.dashboards : [],
        shops: Array.isArray(d && d.shops) ? d.shops : [],
        platforms: Array.isArray(d && d.platforms) ? d.platforms : [],
        categories: Array.isArray(d && d.categories) ? d.categories : [],
      };
    }
    return state.dashList;
  }

  let vegaLoading = null;
  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = src;
      s.async = false;
      s.addEventListener('load', () => resolve());
      s.addEventListener('error', () => reject(new Error(`${t('err.charts')} (${src})`)));
      document.head.append(s);
    });
  }

  function ensureVega() {
    if (typeof window.vegaEmbed === 'function') return Promise.resolve();
    if (!vegaLoading) {
      vegaLoading = ['vega', 'vega-lite', 'vega-embed']
        .reduce((p, n) => p.then(() => loadScript(`/ui/vendor/${n}.min.js`)), Promise.resolve())
        .catch((e) => { vegaLoading = null; throw e; });
    }
    return vegaLoading;
  }

  function closeViews() {
    for (const v of state.views) {
      try { v.finalize(); } catch (_) { /* already gone */ }
    }
    state.views = [];
  }

  function chartConfig() {
    const primary = cssVar('--primary', '#1f5fbf');
    return {
      font: FONT,
      background: null,
      view: { stroke: null, continuousHeight: 240 },
      mark: { color: primary },
      axis: { labelFont: FONT, titleFont: FONT, labelColor: '#5d6875', titleColor: '#1d232b', gridColor: '#e8ecf1' },
      legend: { labelFont: FONT, titleFont: FONT, orient: 'bottom', columns: 4, labelLimit: 180 },
      title: { font: FONT },
    };
  }

  async function pageDashboards(main, rest, seq) {
    const list = await dashboardsList();
    if (seq !== state.seq) return;
    main.replaceChildren();
    if (!list.dashboards.length) {
      main.append(info(t('dash.none')));
      return;
    }
    let id = rest[0];
    if (!id) {
      id = list.dashboards[0].id;
      history.replaceState(null, '', '#/dashboards/' + enc(id));
      document.body.dataset.view = 'dashboards/' + id;
    }
    const d = list.dashboards.find((x) => x.id === id);
    const tabs = h('nav', { class: 'tabs', id: 'dash-tabs' }, list.dashboards.map((x) =>
      h('a', { href: '#/dashboards/' + enc(x.id), class: x.id === id ? 'active' : '', dataset: { dashboard: x.id } }, ttl(x))));
    if (!d) {
      main.append(tabs, info(t('dash.unknown', { id }), 'error'));
      return;
    }
    document.title = `${ttl(d)} · ${$('#company').textContent}`;
    const xlsx = () => `/api/v1/dashboards/${enc(id)}.xlsx${filterQuery()}`;
    const pdf = () => `/api/v1/dashboards/${enc(id)}.pdf${filterQuery()}`;
    const excel = h('a', { class: 'btn', id: 'excel', href: xlsx(), download: `${id}.xlsx` }, '⤓ ' + t('excel'));
    const pdfLink = h('a', { class: 'btn', id: 'pdf', href: pdf(), download: `${id}.pdf` }, '⤓ PDF');
    const period = h('span', { class: 'muted', id: 'period' });
    const grid = h('div', { class: 'panels', id: 'panels' });
    let timer = null;
    const onChange = () => {
      const s = ++state.seq;
      busy(null);
      excel.href = xlsx();
      pdfLink.href = pdf();
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (s !== state.seq) return;
        loadDashboard(id, grid, period, s).then(() => ready(s), (e) => {
          if (e.status !== 401 && s === state.seq) grid.replaceChildren(errorBox(e));
          ready(s);
        });
      }, 250);
    };
    main.append(
      h('div', { class: 'page-head' }, h('h1', null, ttl(d)), period),
      tabs,
      filterBar(list.shops, onChange, [excel, pdfLink]),
      grid);
    await loadDashboard(id, grid, period, seq);
  }

  async function loadDashboard(id, grid, period, seq) {
    grid.classList.add('loading');
    if (!grid.childElementCount) grid.append(h('div', { class: 'loading-text' }, t('loading')));
    const requested = { from: state.filters.from, to: state.filters.to, shops: [...state.filters.shops] };
    let data;
    try {
      data = await api(`/api/v1/dashboards/${enc(id)}${filterQuery()}`);
      await ensureVega();
    } catch (e) {
      if (seq !== state.seq) return;
      grid.classList.remove('loading');
      if (e.status === 401) throw e;
      grid.replaceChildren(errorBox(e));
      return;
    }
    if (seq !== state.seq) return;
    closeViews();
    const views = state.views;
    grid.replaceChildren();
    grid.classList.remove('loading');
    period.textContent = data.from || data.to
      ? t('dash.period', { from: data.from || '…', to: data.to || '…' })
      : t('filter.allTime');
    const panels = {};
    const jobs = (Array.isArray(data.panels) ? data.panels : []).map((p) => {
      const card = h('section', { class: 'panel' });
      grid.append(card);
      return renderPanel(p, card, panels, views);
    });
    await Promise.allSettled(jobs);
    if (seq !== state.seq) return;
    window.__zt.panels[id] = panels;
    window.__zt.current = {
      dashboard: id,
      from: data.from || null,
      to: data.to || null,
      shops: Array.isArray(data.shops) ? data.shops : [],
      requested,
    };
  }

  async function renderPanel(p, card, panels, views) {
    const spec = p.spec && typeof p.spec === 'object' ? p.spec : null;
    const values = spec && spec.data && Array.isArray(spec.data.values) ? spec.data.values : [];
    const rows = Number.isFinite(p.rows) ? p.rows : values.length;
    panels[p.id] = { rows, values, error: p.error || null };
    card.dataset.panel = p.id;
    card.dataset.rows = String(rows);
    const toggle = h('button', { type: 'button', class: 'btn small table-toggle', 'aria-pressed': 'false' }, t('panel.table'));
    const tableBox = h('div', { class: 'data-table table-wrap', hidden: true });
    toggle.addEventListener('click', () => {
      if (!tableBox.firstChild) tableBox.append(valuesTable(values, spec));
      tableBox.hidden = !tableBox.hidden;
      toggle.setAttribute('aria-pressed', String(!tableBox.hidden));
      toggle.textContent = tableBox.hidden ? t('panel.table') : t('panel.hideTable');
    });
    card.append(h('div', { class: 'panel-head' },
      h('h2', null, ttl(p)),
      h('span', { class: 'rows' }, rows === 1 ? t('panel.row') : t('panel.rows', { n: rows })),
      toggle));
    if (Array.isArray(p.unfiltered_by) && p.unfiltered_by.length) {
      const names = p.unfiltered_by.map((d) => t('filter.' + d)).join(', ');
      card.append(h('div', { class: 'unfiltered' }, t('panel.unfiltered', { dims: names })));
    }
    const fail = (msg) => {
      card.dataset.state = 'error';
      panels[p.id].error = msg;
      return h('div', { class: 'panel-error', role: 'alert' }, t('panel.error') + ' ', msg);
    };
    if (p.error) {
      card.append(fail(String(p.error)), tableBox);
      return;
    }
    if (!spec) {
      card.append(fail('no chart specification'), tableBox);
      return;
    }
    if (!values.length) {
      card.dataset.state = 'empty';
      card.append(h('div', { class: 'no-data', dataset: { nodata: '1' } }, t('panel.nodata')), tableBox);
      return;
    }
    const chart = h('div', { class: 'chart' });
    card.append(chart, tableBox);
    const s = Object.assign({}, spec);
    delete s.title; // the card shows the title in the chosen language
    if (s.height === undefined) s.height = 240;
    try {
      const res = await window.vegaEmbed(chart, s, { actions: false, renderer: 'svg', config: chartConfig() });
      if (state.views === views) views.push(res.view);
      else res.view.finalize();
      card.dataset.state = 'chart';
    } catch (e) {
      chart.replaceWith(fail(String((e && e.message) || e)));
    }
  }

  function valuesTable(values, spec) {
    const formats = {};
    const enc0 = (spec && spec.encoding) || {};
    for (const ch of Object.values(enc0)) {
      if (ch && typeof ch === 'object' && ch.field) {
        const fmt = (ch.axis && ch.axis.format) || ch.format;
        if (fmt) formats[ch.field] = fmt;
      }
    }
    const seen = new Set();
    for (const r of values) for (const k of Object.keys(r || {})) seen.add(k);
    const cols = [...seen];
    const numeric = new Set(cols.filter((c) => values.some((r) => typeof (r || {})[c] === 'number')));
    return h('table', { class: 'data' },
      h('thead', null, h('tr', null, cols.map((c) => h('th', { class: numeric.has(c) ? 'num' : null }, c)))),
      h('tbody', null, values.map((r) => h('tr', null, cols.map((c) => {
        const v = (r || {})[c];
        return h('td', { class: numeric.has(c) ? 'num' : null }, fmtChartValue(v, formats[c]));
      })))));
  }

  // ---------------------------------------------------------------------------------------
  // Exception queue.
  const BREAK_COLUMNS = ['break_id', 'check_name', 'kind', 'period', 'shop_id', 'expected', 'actual', 'difference', 'amount_at_stake', 'status', 'note'];

  async function pageExceptions(main, rest, seq) {
    const statusSel = h('select', { id: 'exc-status' }, ['open', 'resolved', 'ignored', 'all'].map((s) =>
      h('option', { value: s }, t('status.' + s))));
    statusSel.value = pageExceptions.status || 'open';
    const refresh = h('button', { type: 'button', class: 'btn', id: 'exc-refresh' }, t('refresh'));
    const box = h('div', { id: 'exc-box' });
    main.replaceChildren(
      h('div', { class: 'page-head' }, h('h1', null, t('exc.title'))),
      h('div', { class: 'toolbar' }, h('label', null, t('exc.status'), statusSel), refresh),
      box);
    const reload = () => {
      const s = ++state.seq;
      busy(null);
      loadBreaks(box, statusSel.value, s).then(() => ready(s), () => ready(s));
    };
    statusSel.addEventListener('change', () => { pageExceptions.status = statusSel.value; reload(); });
    refresh.addEventListener('click', reload);
    box.reload = reload;
    await loadBreaks(box, statusSel.value, seq);
  }

  async function loadBreaks(box, status, seq) {
    let data;
    try {
      data = await api(`/api/v1/recon/breaks?status=${enc(status)}&limit=200`, { exact: true });
    } catch (e) {
      if (seq !== state.seq || e.status === 401) return;
      box.replaceChildren(errorBox(e));
      return;
    }
    if (seq !== state.seq) return;
    const { columns, rows } = toTable(data);
    if (!rows.length) {
      box.replaceChildren(info(t('exc.empty')));
      return;
    }
    const types = Object.fromEntries(columns.map((c) => [c.name, c.type]));
    const shown = BREAK_COLUMNS.filter((c) => c in types || rows.some((r) => c in (r || {})))
      .map((name) => ({ name, type: types[name] || '' }));
    // Resolving and ignoring need the reconciliation-act permission (admin, finance); other
    // roles see the list only. An unknown role gets the buttons and the server decides.
    const role = state.me && state.me.role;
    const canAct = !role || !DICT.en['role.' + role] || role === 'admin' || role === 'finance';
    if (canAct) shown.push({ name: 'actions', type: '' });
    const table = dataTable(shown, rows, {
      status: (v) => h('td', null, statusBadge(v)),
      break_id: (v) => h('td', { class: 'id' }, h('code', null, String(v === undefined ? '' : v))),
      note: (v) => h('td', { class: v ? 'wrap' : 'null' }, v ? String(v) : '—'),
      actions: (v, r) => h('td', { class: 'actions' }, breakButtons(r, box)),
    });
    box.replaceChildren(h('div', { class: 'result-meta' }, t('exc.count', { n: rows.length })), h('div', { class: 'table-wrap' }, table));
  }

  function breakButtons(r, box) {
    const acts = r.status === 'open' ? ['resolve', 'ignore', 'note'] : ['reopen', 'note'];
    const label = { resolve: 'exc.resolve', ignore: 'exc.ignore', reopen: 'exc.reopen', note: 'exc.addNote' };
    return acts.map((a) => h('button', {
      type: 'button', class: 'btn small', dataset: { action: a, break: r.break_id },
      onclick: (ev) => openAction(ev.currentTarget.closest('tr'), r, a, box),
    }, t(label[a])));
  }

  function openAction(tr, r, action, box) {
    const next = tr.nextElementSibling;
    if (next && next.classList.contains('action-row')) next.remove();
    const note = h('textarea', { placeholder: t('exc.notePh'), maxlength: 2000, 'aria-label': t('col.note') });
    const msg = h('div');
    const ok = h('button', { type: 'button', class: 'btn primary' }, t('exc.confirm'));
    const row = h('tr', { class: 'action-row' }, h('td', { colspan: tr.children.length },
      h('div', { class: 'action-form' }, h('strong', null, t({ resolve: 'exc.resolve', ignore: 'exc.ignore', reopen: 'exc.reopen', note: 'exc.addNote' }[action])), note, ok,
        h('button', { type: 'button', class: 'btn', onclick: () => row.remove() }, t('cancel'))),
      msg));
    ok.addEventListener('click', async () => {
      ok.disabled = true;
      msg.replaceChildren();
      const body = { action };
      if (note.value.trim()) body.note = note.value.trim();
      try {
        const res = await api(`/api/v1/recon/breaks/${enc(r.break_id)}/actions`, { method: 'POST', body });
        row.remove();
        const st = (res && res.status) || action;
        toast(t('exc.done', { id: r.break_id, status: ('status.' + st) in DICT.en ? t('status.' + st) : st }));
        if (box.reload) box.reload();
      } catch (e) {
        ok.disabled = false;
        if (e.status === 403) msg.append(info(t('err.forbiddenAction', { role: roleName() }), 'forbidden'));
        else msg.append(errorBox(e));
      }
    });
    tr.after(row);
    note.focus();
  }

  // ---------------------------------------------------------------------------------------
  // Entry forms, rendered from their JSON Schemas.
  async function pageForms(main, rest, seq) {
    const data = await api('/api/v1/forms');
    if (seq !== state.seq) return;
    const forms = Array.isArray(data) ? data : (data && Array.isArray(data.forms) ? data.forms : []);
    main.replaceChildren(h('div', { class: 'page-head' }, h('h1', null, t('forms.title'))));
    if (!forms.length) {
      main.append(info(t('forms.none')));
      return;
    }
    let name = rest[0];
    if (!name) {
      name = forms[0].name;
      history.replaceState(null, '', '#/forms/' + enc(name));
      document.body.dataset.view = 'forms/' + name;
    }
    const groups = new Map();
    for (const f of forms) {
      const g = f.group || 'other';
      if (!groups.has(g)) groups.set(g, []);
      groups.get(g).push(f);
    }
    const aside = h('nav', { class: 'form-list', id: 'form-list' }, [...groups].map(([g, fs]) => [
      h('h3', null, ('forms.group.' + g) in DICT.en ? t('forms.group.' + g) : g),
      fs.map((f) => h('a', { href: '#/forms/' + enc(f.name), class: f.name === name ? 'active' : '', dataset: { form: f.name } }, ttl(f))),
    ]));
    const f = forms.find((x) => x.name === name);
    main.append(h('div', { class: 'forms-layout' }, aside,
      f ? entryForm(f) : info(t('forms.unknown', { name }), 'error')));
  }

  // Properties in a sensible order: an explicit x-order, else the required ones in their
  // order, then the others (lists of lines last).
  function fieldOrder(schema) {
    const props = schema.properties || {};
    const names = Object.keys(props);
    const order = Array.isArray(schema['x-order']) ? schema['x-order'].filter((n) => n in props) : [];
    const req = Array.isArray(schema.required) ? schema.required.filter((n) => n in props) : [];
    const out = [];
    const add = (n) => { if (!out.includes(n)) out.push(n); };
    order.forEach(add);
    if (!order.length) {
      const isLines = (n) => props[n] && props[n].type === 'array' && props[n].items && props[n].items.type === 'object';
      req.filter((n) => !isLines(n)).forEach(add);
      names.filter((n) => !isLines(n)).forEach(add);
      names.filter(isLines).forEach(add);
    }
    names.forEach(add);
    return out;
  }

  function fieldLabel(name, prop) {
    if (state.lang === 'zh' && prop && (prop.title_zh || prop['x-title-zh'])) return prop.title_zh || prop['x-title-zh'];
    return (prop && prop.title) || name;
  }

  function localOffset(d) {
    const m = -d.getTimezoneOffset();
    const sign = m >= 0 ? '+' : '-';
    const a = Math.abs(m);
    return `${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
  }

  // One input for a schema property: {el, read() → {has, value}, reset()}.
  function makeInput(prop, required, id) {
    prop = prop || {};
    const type = Array.isArray(prop.type) ? prop.type.find((x) => x !== 'null') : prop.type;
    const placeholder = Array.isArray(prop.examples) && prop.examples.length ? String(prop.examples[0]) : null;
    const textRead = (el) => () => (el.value.trim() === '' ? { has: false } : { has: true, value: el.value.trim() });
    if (Array.isArray(prop.enum)) {
      const el = h('select', { id }, h('option', { value: '' }, required ? t('forms.choose') : '—'),
        prop.enum.map((v) => h('option', { value: String(v) }, String(v))));
      return { el, read: () => (el.value === '' ? { has: false } : { has: true, value: el.value }), reset: () => { el.value = ''; } };
    }
    if (type === 'boolean') {
      const el = h('input', { type: 'checkbox', id });
      return { el, check: true, read: () => (el.checked || required ? { has: true, value: el.checked } : { has: false }), reset: () => { el.checked = false; } };
    }
    if (type === 'integer' || type === 'number') {
      const el = h('input', { type: 'text', inputmode: type === 'integer' ? 'numeric' : 'decimal', id, placeholder,
        title: prop.minimum !== undefined || prop.maximum !== undefined ? `${prop.minimum ?? ''} … ${prop.maximum ?? ''}` : null });
      return {
        el,
        read: () => {
          const s = el.value.trim();
          if (s === '') return { has: false };
          const ok = type === 'integer' ? /^-?\d+$/.test(s) : /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(s);
          return { has: true, value: ok ? Number(s) : s }; // the server names a bad number
        },
        reset: () => { el.value = ''; },
      };
    }
    if (type === 'array') {
      const el = h('input', { type: 'text', id, placeholder });
      return {
        el,
        hint: t('forms.listHint'),
        read: () => {
          const items = el.value.split(/[,，\n]/).map((x) => x.trim()).filter(Boolean);
          return items.length ? { has: true, value: items } : { has: false };
        },
        reset: () => { el.value = ''; },
      };
    }
    if (type === 'object') {
      const el = h('textarea', { id, rows: 3, placeholder: '颜色=白\n尺码=L' });
      return {
        el,
        hint: t('forms.kvHint'),
        read: () => {
          const o = {};
          for (const line of el.value.split('\n')) {
            if (!line.trim()) continue;
            const i = line.search(/[=:：]/);
            if (i < 0) o[line.trim()] = '';
            else o[line.slice(0, i).trim()] = line.slice(i + 1).trim();
          }
          return Object.keys(o).length ? { has: true, value: o } : { has: false };
        },
        reset: () => { el.value = ''; },
      };
    }
    // Strings.
    if (prop.format === 'date') {
      const el = h('input', { type: 'date', id });
      return { el, read: textRead(el), reset: () => { el.value = ''; } };
    }
    if (prop.format === 'date-time') {
      const el = h('input', { type: 'datetime-local', id, step: 1 });
      return {
        el,
        read: () => {
          const v = el.value;
          if (!v) return { has: false };
          const full = v.length === 16 ? v + ':00' : v;
          const d = new Date(full);
          return { has: true, value: Number.isNaN(d.getTime()) ? full : full + localOffset(d) };
        },
        reset: () => { el.value = ''; },
      };
    }
    if (typeof prop.pattern === 'string' && prop.pattern.includes('(0[1-9]|1[0-2])$')) {
      const el = h('input', { type: 'month', id, placeholder: 'YYYY-MM' });
      return { el, read: textRead(el), reset: () => { el.value = ''; } };
    }
    const money = 'x-minimum-fen' in prop;
    if (!money && prop.maxLength >= 300) {
      const el = h('textarea', { id, rows: 2, maxlength: prop.maxLength });
      return { el, read: textRead(el), reset: () => { el.value = ''; } };
    }
    const el = h('input', {
      type: 'text', id, placeholder: placeholder || (money ? '0.00' : null),
      inputmode: money ? 'decimal' : null, maxlength: prop.maxLength || null,
      class: money ? 'money' : null, autocomplete: 'off',
    });
    return { el, read: textRead(el), reset: () => { el.value = ''; } };
  }

  function entryForm(f) {
    const schema = f.schema || {};
    const props = schema.properties || {};
    const required = new Set(Array.isArray(schema.required) ? schema.required : []);
    const idKey = randomKey();
    let idem = randomKey();
    const top = [];     // {name, ctl, err, wrap}
    const linesCtl = []; // {name, sub: [...names], props, required, rows: [{tr, ctls: {name: {ctl, err}}, err}], err, addRow}
    const fieldsEl = h('div', { class: 'fields' });
    const formMsg = h('div', { class: 'form-msg', id: 'form-msg' });
    let n = 0;
    for (const name of fieldOrder(schema)) {
      const prop = props[name] || {};
      const req = required.has(name);
      const id = `ff-${idKey.slice(0, 6)}-${n++}`;
      const label = [fieldLabel(name, prop), req ? h('span', { class: 'req', title: t('forms.required') }, '*') : null];
      if (prop.type === 'array' && prop.items && prop.items.type === 'object') {
        const lc = linesField(name, prop, req, label);
        linesCtl.push(lc);
        fieldsEl.append(lc.wrap);
        continue;
      }
      const ctl = makeInput(prop, req, id);
      ctl.el.dataset.path = name;
      const err = h('div', { class: 'field-error', dataset: { errorFor: name } });
      const hint = [prop.description, ctl.hint].filter(Boolean).join(' · ');
      const wrap = ctl.check
        ? h('div', { class: 'field check', dataset: { field: name } }, ctl.el, h('label', { for: id, title: name }, label), hint ? h('span', { class: 'hint' }, hint) : null, err)
        : h('div', { class: 'field', dataset: { field: name } }, h('label', { for: id, title: name }, label), ctl.el, hint ? h('span', { class: 'hint' }, hint) : null, err);
      top.push({ name, ctl, err, wrap });
      fieldsEl.append(wrap);
    }

    function linesField(name, prop, req, label) {
      const sp = prop.items.properties || {};
      const sreq = new Set(Array.isArray(prop.items.required) ? prop.items.required : []);
      const sub = fieldOrder(prop.items);
      const tbody = h('tbody');
      const err = h('div', { class: 'field-error', dataset: { errorFor: name } });
      const lc = { name, rows: [], err };
      const addRow = () => {
        const row = { ctls: {}, err: h('div', { class: 'field-error' }) };
        const cells = sub.map((s) => {
          const ctl = makeInput(sp[s], sreq.has(s), null);
          ctl.el.setAttribute('aria-label', fieldLabel(s, sp[s]));
          const e = h('span', { class: 'field-error' });
          row.ctls[s] = { ctl, err: e };
          return h('td', { dataset: { sub: s } }, ctl.el, e);
        });
        const rm = h('button', { type: 'button', class: 'btn small danger', title: t('forms.removeLine') }, '×');
        row.tr = h('tr', null, h('td', { class: 'muted line-no' }), cells, h('td', null, rm, row.err));
        rm.addEventListener('click', () => {
          if (lc.rows.length <= 1) return;
          lc.rows.splice(lc.rows.indexOf(row), 1);
          row.tr.remove();
          renumber();
        });
        lc.rows.push(row);
        tbody.append(row.tr);
        renumber();
      };
      const renumber = () => lc.rows.forEach((r, i) => {
        r.tr.firstChild.textContent = String(i + 1);
        for (const [s, c] of Object.entries(r.ctls)) c.ctl.el.dataset.path = `${name}[${i}].${s}`;
      });
      lc.addRow = addRow;
      const head = h('tr', null, h('th', null, '#'), sub.map((s) => h('th', { title: (sp[s] && sp[s].description) || null },
        fieldLabel(s, sp[s]), sreq.has(s) ? h('span', { class: 'req' }, '*') : null)), h('th'));
      const add = h('button', { type: 'button', class: 'btn small', dataset: { addLine: name } }, '+ ' + t('forms.addLine'));
      add.addEventListener('click', addRow);
      lc.wrap = h('div', { class: 'field lines-field', dataset: { field: name } },
        h('span', { class: 'label' }, label),
        prop.description && prop.description !== name ? h('span', { class: 'hint' }, prop.description) : null,
        h('div', { class: 'lines' }, h('table', null, h('thead', null, head), tbody)),
        h('div', null, add), err);
      addRow();
      return lc;
    }

    function collect() {
      const body = {};
      for (const { name, ctl } of top) {
        const r = ctl.read();
        if (r.has) body[name] = r.value;
      }
      for (const lc of linesCtl) {
        // Every row is sent, empty ones too, so an error's line number is the row shown.
        const items = lc.rows.map((row) => {
          const o = {};
          for (const [s, c] of Object.entries(row.ctls)) {
            const r = c.ctl.read();
            if (r.has) o[s] = r.value;
          }
          return o;
        });
        const blank = items.every((o) => !Object.keys(o).length);
        if (!blank || required.has(lc.name)) body[lc.name] = items;
      }
      return body;
    }

    function clearErrors() {
      formMsg.replaceChildren();
      for (const el of form.querySelectorAll('.field-error')) el.textContent = '';
      for (const el of form.querySelectorAll('.invalid')) el.classList.remove('invalid');
    }

    function showErrors(fields) {
      const general = [];
      let first = null;
      const mark = (el, errEl, msg) => {
        errEl.textContent = errEl.textContent ? `${errEl.textContent}; ${msg}` : msg;
        if (el) {
          el.classList.add('invalid');
          if (!first) first = el;
        }
      };
      for (const fe of fields) {
        const path = String(fe.field || '');
        const msg = fieldMsg(String(fe.message || ''));
        const topHit = top.find((x) => x.name === path);
        if (topHit) { mark(topHit.ctl.el, topHit.err, msg); continue; }
        const m = /^([^[]+)\[(\d+)\](?:\.(.+))?$/.exec(path);
        const lc = linesCtl.find((x) => x.name === (m ? m[1] : path));
        if (lc && !m) { mark(null, lc.err, msg); continue; }
        if (lc && m) {
          const row = lc.rows[Number(m[2])];
          const c = row && m[3] ? row.ctls[m[3]] : null;
          if (c) { mark(c.ctl.el, c.err, msg); continue; }
          if (row) { mark(null, row.err, m[3] ? `${m[3]}: ${msg}` : msg); continue; }
        }
        general.push(path && path !== '(body)' ? `${path}: ${msg}` : msg);
      }
      formMsg.append(h('div', { class: 'msg error', role: 'alert' }, t('forms.invalid'),
        general.length ? h('ul', null, general.map((g) => h('li', null, g))) : null));
      if (first) first.focus();
    }

    const submit = h('button', { type: 'submit', class: 'btn primary', id: 'form-submit' }, t('forms.submit'));
    const reset = h('button', { type: 'button', class: 'btn', id: 'form-clear' }, t('forms.clear'));
    const form = h('form', { class: 'card entry', novalidate: true, id: 'entry-form', dataset: { form: f.name } },
      h('h2', null, ttl(f), state.lang === 'zh' ? null : (f.title_zh ? h('span', { class: 'muted' }, ' · ' + f.title_zh) : null)),
      f.doc ? h('p', { class: 'doc' }, f.doc) : null,
      f.key ? h('p', { class: 'muted' }, t('forms.key', { key: f.key })) : null,
      fieldsEl, formMsg,
      h('div', { class: 'form-actions' }, submit, reset));
    reset.addEventListener('click', () => {
      clearErrors();
      for (const { ctl } of top) ctl.reset();
      for (const lc of linesCtl) {
        while (lc.rows.length) lc.rows.pop().tr.remove();
        lc.addRow();
      }
    });
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearErrors();
      submit.disabled = true;
      submit.textContent = t('forms.busy');
      try {
        const res = await api(`/api/v1/forms/${enc(f.name)}`, { method: 'POST', body: collect(), headers: { 'Idempotency-Key': idem } });
        idem = randomKey();
        reset.click();
        const r = res || {};
        formMsg.append(h('div', { class: 'msg ok', role: 'status', id: 'form-saved' },
          t('forms.saved', { form: ttl(f), id: r.id || '', version: r.version || 1 })));
      } catch (e) {
        if (e.status === 422 && e.fields && e.fields.length) showErrors(e.fields);
        else if (e.status === 403) formMsg.append(info(t('err.forbiddenAction', { role: roleName() }), 'forbidden'));
        else if (e.status !== 401) formMsg.append(errorBox(e));
        if (e.status === 409 || e.status === 422) idem = randomKey(); // a changed body needs a new key
      } finally {
        submit.disabled = false;
        submit.textContent = t('forms.submit');
      }
    });
    return form;
  }

  // ---------------------------------------------------------------------------------------
  // SQL console.
  async function pageSql(main, rest, seq) {
    const text = h('textarea', { class: 'sql', id: 'sql', spellcheck: 'false', 'aria-label': 'SQL' });
    text.value = (() => { try { return sessionStorage.getItem('zhongtai.sql') || 'SELECT 1 AS one'; } catch (_) { return 'SELECT 1 AS one'; } })();
    const run = h('button', { type: 'button', class: 'btn primary', id: 'sql-run' }, '▶ ' + t('sql.run'));
    const out = h('div', { id: 'sql-result' });
    const go = async () => {
      const s = ++state.seq;
      busy(null);
      run.disabled = true;
      out.replaceChildren(h('div', { class: 'loading-text' }, t('sql.running')));
      try { sessionStorage.setItem('zhongtai.sql', text.value); } catch (_) { /* ignore */ }
      const t0 = performance.now();
      try {
        const data = await api('/api/v1/query', { method: 'POST', body: { sql: text.value }, exact: true });
        if (s !== state.seq) return;
        const ms = Math.round(performance.now() - t0);
        const { columns, rows } = toTable(data);
        const n = data && Number.isFinite(data.row_count) ? data.row_count : rows.length;
        out.replaceChildren(
          h('div', { class: 'result-meta', id: 'sql-meta' }, t('sql.rows', { n, ms })),
          rows.length || columns.length
            ? h('div', { class: 'table-wrap' }, dataTable(columns.map((c) => Object.assign({ label: c.name }, c)), rows))
            : info(t('sql.empty')));
      } catch (e) {
        if (s !== state.seq) return;
        out.replaceChildren(e.status === 401 ? '' : errorBox(e));
      } finally {
        run.disabled = false;
        ready(s);
      }
    };
    run.addEventListener('click', go);
    text.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); go(); }
    });
    main.replaceChildren(
      h('div', { class: 'page-head' }, h('h1', null, t('sql.title'))),
      h('p', { class: 'muted' }, t('sql.hint')),
      text,
      h('div', { class: 'sql-actions' }, run),
      out);
    void seq;
  }

  // ---------------------------------------------------------------------------------------
  // Connectors and jobs.
  async function pageOps(main, rest, seq) {
    const conBox = h('div', { id: 'connectors' });
    const jobBox = h('div', { id: 'jobs' });
    const stamp = h('span', { class: 'muted', id: 'ops-updated' });
    const refresh = h('button', { type: 'button', class: 'btn', id: 'ops-refresh' }, '⟳ ' + t('refresh'));
    main.replaceChildren(
      h('div', { class: 'page-head' }, h('h1', null, t('ops.title')), stamp, refresh),
      h('section', { class: 'block' }, h('div', { class: 'page-head' }, h('h2', null, t('ops.connectors'))), conBox),
      h('section', { class: 'block' }, h('div', { class: 'page-head' }, h('h2', null, t('ops.jobs'))), jobBox));
    const load = async (s) => {
      await Promise.all([loadConnectors(conBox, s), loadJobs(jobBox, s)]);
      if (s === state.seq) stamp.textContent = t('updated', { time: fmtTime(Date.now()) });
    };
    refresh.addEventListener('click', () => {
      const s = ++state.seq;
      busy(null);
      load(s).then(() => ready(s), () => ready(s));
    });
    await load(seq);
  }

  async function loadConnectors(box, seq) {
    try {
      const data = await api('/api/v1/connectors');
      if (seq !== state.seq) return;
      const list = Array.isArray(data) ? data : (data && Array.isArray(data.connectors) ? data.connectors : []);
      if (!list.length) { box.replaceChildren(info(t('ops.noConnectors'))); return; }
      const cols = ['name', 'kind', 'description', 'schedule', 'streams', 'secrets'].map((name) => ({ name, type: '' }));
      box.replaceChildren(h('div', { class: 'table-wrap' }, dataTable(cols, list, {
        streams: (v) => h('td', { class: 'wrap' }, Array.isArray(v) ? v.join(', ') : fmtCell(v, '')),
        schedule: (v) => h('td', null, v === null || v === undefined ? '—' : (typeof v === 'object' ? JSON.stringify(v) : String(v))),
        secrets: (v, r) => {
          const s = r.secrets_set && typeof r.secrets_set === 'object' ? r.secrets_set : {};
          return h('td', null, Object.entries(s).map(([k, ok]) =>
            h('span', { class: 'status ' + (ok ? 'yes' : 'no'), title: ok ? t('ops.set') : t('ops.missing') }, `${k}: ${ok ? t('ops.set') : t('ops.missing')}`, ' ')));
        },
      })));
    } catch (e) {
      if (seq !== state.seq || e.status === 401) return;
      box.replaceChildren(errorBox(e));
    }
  }

  async function loadJobs(box, seq) {
    try {
      const data = await api('/api/v1/jobs?limit=100');
      if (seq !== state.seq) return;
      const list = Array.isArray(data) ? data : (data && Array.isArray(data.jobs) ? data.jobs : []);
      if (!list.length) { box.replaceChildren(info(t('ops.noJobs'))); return; }
      const cols = ['run_id', 'kind', 'target', 'status', 'trigger', 'requested_by', 'attempts', 'queued_at', 'duration', 'rows', 'error']
        .map((name) => ({ name, type: ['attempts', 'rows'].includes(name) ? 'Int64' : '' }));
      box.replaceChildren(h('div', { class: 'table-wrap' }, dataTable(cols, list, {
        run_id: (v) => h('td', null, h('code', null, String(v || ''))),
        status: (v) => h('td', null, statusBadge(v)),
        queued_at: (v) => h('td', null, fmtTime(v)),
        duration: (v, r) => h('td', { class: 'num' }, fmtDuration(r.duration_ms)),
        error: (v) => h('td', { class: 'wrap' }, v || ''),
      })));
    } catch (e) {
      if (seq !== state.seq || e.status === 401) return;
      box.replaceChildren(errorBox(e));
    }
  }

  // ---------------------------------------------------------------------------------------
  // Reports.
  async function pageReports(main, rest, seq) {
    const data = await api('/api/v1/reports');
    if (seq !== state.seq) return;
    let shops = [];
    try {
      shops = (await dashboardsList()).shops;
    } catch (e) {
      if (e.status === 401) throw e; // without the list, no shop filter
    }
    if (seq !== state.seq) return;
    const reports = Array.isArray(data) ? data : (data && Array.isArray(data.reports) ? data.reports : []);
    const links = [];
    const href = (name, ext, status) => {
      let q = filterQuery();
      if (status) q += (q ? '&' : '?') + 'status=' + enc(status);
      return `/api/v1/reports/${enc(name)}.${ext}${q}`;
    };
    const update = () => { for (const l of links) l.a.href = href(l.name, l.ext, l.status()); };
    main.replaceChildren(
      h('div', { class: 'page-head' }, h('h1', null, t('rep.title'))),
      filterBar(shops, update, null),
      h('p', { class: 'muted' }, t('rep.hint')));
    if (!reports.length) {
      main.append(info(t('rep.none')));
      return;
    }
    const label = { html: 'rep.html', pdf: 'rep.pdf', xlsx: 'rep.xlsx' };
    main.append(h('div', { class: 'report-list', id: 'reports' }, reports.map((r) => {
      const statuses = Array.isArray(r.statuses) ? r.statuses : [];
      const sel = statuses.length
        ? h('select', { dataset: { reportStatus: r.name } }, h('option', { value: '' }, t('status.all')),
          statuses.map((st) => h('option', { value: st }, ('status.' + st) in DICT.en ? t('status.' + st) : st)))
        : null;
      const status = () => (sel ? sel.value : '');
      if (sel) sel.addEventListener('change', update);
      const formats = Array.isArray(r.formats) && r.formats.length ? r.formats : ['html', 'pdf', 'xlsx'];
      const mk = (ext) => {
        const attrs = { class: 'btn', href: href(r.name, ext, ''), dataset: { report: r.name, format: ext } };
        if (ext === 'html') { attrs.target = '_blank'; attrs.rel = 'noopener'; } else attrs.download = `${r.name}.${ext}`;
        const a = h('a', attrs, '⤓ ' + (label[ext] ? t(label[ext]) : ext));
        links.push({ a, name: r.name, ext, status });
        return a;
      };
      const sections = Array.isArray(r.sections) ? r.sections.map(ttl).filter(Boolean) : [];
      return h('div', { class: 'card report', dataset: { report: r.name } },
        h('h2', null, ttl(r)),
        r.description ? h('p', { class: 'muted' }, r.description) : null,
        sections.length ? h('ul', { class: 'sections' }, sections.map((x) => h('li', null, x))) : null,
        sel ? h('label', { class: 'report-status' }, t('exc.status') + ' ', sel) : null,
        h('div', { class: 'links' }, formats.map(mk)));
    })));
  }

  // ---------------------------------------------------------------------------------------
  function init() {
    $('#lang').addEventListener('click', switchLang);
    $('#logout').addEventListener('click', logout);
    $('#logo').addEventListener('error', () => { $('#logo').hidden = true; });
    // Close an open shop menu on a click elsewhere.
    document.addEventListener('click', (ev) => {
      for (const d of document.querySelectorAll('details.shops[open]')) {
        if (!d.contains(ev.target)) d.open = false;
      }
    });
    window.addEventListener('hashchange', route);
    route();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
