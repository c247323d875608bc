/* SPDX-License-Identifier: Apache-2.0 */
/*
 * i18n.js - the console's words in Chinese (zh-CN, the default) and English,
 * and the Asia/Shanghai clock every time is shown in.  The choice of
 * language is kept in the browser (localStorage); the API's own values
 * (states, kinds, actions) are looked up here and shown as they are when
 * they have no entry.
 */
'use strict';

const I18N = {
  zh: {
    app_title: '12345 热线工作台', sign_in: '登录', sign_out: '退出', switch: '切换账号', token: '令牌',
    token_hint: '请输入管理员发放的令牌（仅保存在本次浏览器会话中）',
    bad_token: '令牌无效或已吊销', language: 'English', node: '节点',
    menu_desk: '坐席受理', menu_triage: '网上诉求分拣', menu_inbox: '承办单位工单', menu_reviews: '审核督办',
    menu_tickets: '工单查询', menu_stats: '统计考核', menu_admin: '单位与账号', menu_progress: '进度查询（公众）',
    presence: '状态', online: '在线', busy: '忙碌', away: '离开',
    kind: '诉求类型', category: '诉求领域', channel: '渠道', content: '诉求内容', citizen: '诉求人',
    citizen_type: '主体类型', name: '姓名', phone: '电话', id_number: '证件号码', contact: '联系方式',
    division: '区划代码', address: '事发地址', location: '地点', register: '登记 (Ctrl+Enter)',
    registered_as: '已登记工单', kb_matches: '知识库匹配', repeats: '疑似重复件', no_matches: '暂无匹配',
    emergency: '紧急事项', emergency_hand: '请立即将来电转接', emergency_none: '无需转接专线，按紧急时限办理',
    hours: '小时', same_caller: '同一来电人', same_place: '同一地点', score: '相似度',
    suggested: '建议', actions: '操作', submit: '提交', cancel: '取消', open: '打开',
    waiting: '等待时长', created_at: '登记时间', deadline: '办理时限', status: '状态', unit: '承办单位',
    id: '工单编号', none: '无', refresh: '刷新', loading: '加载中…', empty: '暂无工单',
    due_soon: '即将到期', overdue: '已超期', provisional: '时限待定（日历未覆盖）', supervised: '督办',
    pending: '待审申请', outcome: '办理结果', timeline: '办理过程', allowed: '可执行操作',
    not_allowed: '不可执行的操作', fields: '工单信息', events_actor: '操作人', decision: '审核意见',
    approve: '同意', refuse: '不同意', send_back: '退回重办', note: '备注',
    reviews_pending: '待审核申请', followups: '差评回访', supervision: '督办事项',
    from: '起', to: '止', show: '查询', month: '月份', download_csv: '下载 CSV',
    chart_daily: '每日受理量', chart_kind: '按诉求类型受理量', chart_ontime: '各单位按时办结率与满意率',
    chart_rejected: '不予受理原因', chart_overdue: '超期趋势', assessment: '月度考核',
    on_time_rate: '按时办结率', satisfaction_rate: '满意率', received: '受理', overdue_open: '新增超期',
    score_col: '得分', dispatched: '派单', completed: '办结', returns_rate: '退回合理率', redo_rate: '未重办率',
    progress_title: '诉求办理进度查询', last4: '手机号后四位', query: '查询', not_found: '未找到该工单，或号码后四位不符',
    rate_title: '服务评价', rate_intake: '对受理的评价', rate_handling: '对办理的评价', comment: '意见（可选）',
    rated: '感谢您的评价！', rate_submit: '提交评价', public_status: '当前状态',
    units: '承办单位', principals: '账号', code: '代码', categories: '负责领域', role: '角色',
    create: '新建', token_once: '新令牌（只显示这一次）', sign_in_as: '以此账号登录', revoke: '吊销',
    answer: '答复内容', reason: '原因', explanation: '说明', basis: '依据', process: '办理过程', result: '办理结果',
    handled_at: '办结时间', text: '内容', to_node: '转入节点', related: '关联工单编号', done: '已完成',
    rule_return: '退回须在派单后 2 个工作日内提出，且只能由持有工单的单位提出。',
    rule_extension: '延期须在办理期内提出；每张工单的延期由值班长审核。',
    rule_completion: '办结须填写办结时间、办理过程、办理结果和依据四项。',
    rule_waiting: '已有申请等待值班长审核，审核前不能再次申请。',
    signed_in_as: '当前用户', welcome: '请从左侧菜单选择工作。',
    refused: '操作未执行', saved: '已保存', switch_to: '切换到本次会话用过的账号',
    menu_province: '全省联网', from_node: '转出节点', menu_kb: '知识库', improper_return: '不当退回', repeated_extension: '再次延期',
    citizen_next: '诉求人下一步', next_rate: '可通过短信链接或来电评价，截止', next_redo: '对办理结果不满意可申请重办一次',
    next_progress: '可凭工单编号和手机号后四位查询进度', menu_restrictions: '限制来电',
    search: '关键词', kb_pending: '待审核条目', kb_type: '条目类型', title: '标题', valid_from: '生效日期',
    restriction_rule: '限制期 30 个自然日，期间该号码来电不予受理（第九条）。', lift: '解除', menu_rules: '紧急事项规则', federation_nodes: '各节点状态', connected: '已连接',
    disconnected: '未连接', queue: '排队', agents: '忙/在线坐席', lag: '延迟', takes_overflow: '承接溢出',
    transfers: '跨节点转办', reconciliation: '对账', chart_cities: '本月各市受理与办结', day: '日期',
    matches: '一致', differs: '不一致', updated_at: '更新时间', signed_by: '签名方', keywords: '关键词',
    line: '转接专线', period_hours: '紧急时限（小时）', withdraw: '停用',
    all: '全部', filter: '筛选', page_size: '每页条数', pages: '分页', first_page: '第一页', prev_page: '上一页',
    next_page: '下一页', last_page: '最后一页', page_of: '第 {0} / {1} 页 · 共 {2} 条',
    overdue_filter: '是否超期', overdue_true: '已超期', overdue_false: '未超期',
    created_from: '登记日期起', created_to: '登记日期止',
    menu_followups: '差评回访', followup_state: '回访状态', followup_open: '待回访', followup_done: '已回访',
    round: '轮次', record_outcome: '记录回访结果', rating: '评价', followup_channel: '回访方式',
    followup_outcome: '回访结果', done_at: '完成时间',
    menu_assists: '协助分拣', assist_state: '协助状态', assist_open: '待分拣', assist_triaged: '已分拣',
    assist_withdrawn: '已撤回', triage: '分拣', closed_at: '结束时间',
    kb_shown: '显示 {0} 条，共 {1} 条匹配（接口最多返回 100 条，请用关键词或类型缩小范围）',
    open_corrections: '待纠错', kb_correct_withdraw: '纠错或撤回', kb_correction: '提出纠错',
    kb_withdraw: '撤回条目', kb_new_version: '提交新版本', kb_corrections: '待处理的纠错',
    filed_by: '提出人',
    menu_transfers: '转办决定', menu_balancing: '负载均衡',
    state_connected: '已连接', state_lagging: '同步延迟', state_overflow: '排队超限（溢出）',
    state_disconnected: '未连接', state_unregistered: '未接入',
    map_label: '全省联网示意图：各市热线节点按大致经纬度排列，颜色表示连接、延迟和溢出状态',
    map_note: '示意图：各市按政府驻地的大致经纬度排列，不是地图，不含行政区界线。',
    last_heartbeat: '最近心跳', recon_summary: '共 {0} 天的日报，{1} 天与全省数据不一致',
    recon_reported: '节点上报', recon_received: '全省收到',
    owner: '承办节点', offered_at: '转出时间', decide: '省级决定',
    overflow_log: '溢出分配记录', balancing_rule: '排队超过阈值时，超出部分由承接溢出的节点协助分拣（同一方言区优先）；阈值、是否承接溢出和方言区由管理员设置。',
    spare: '空闲坐席', settings: '设置', centre: '协助节点', stayed_home: '留在本节点',
    overflow_home: '无节点可承接', overflow_assigned: '已分配', overflow_withdrawn: '已撤回',
    overflow_triaged: '已分拣', decided_at: '分配时间', no_overflow: '不承接溢出', save: '保存',
    route_title: '来电分流查询', route_for: '来电所属节点', route_to: '此时应接听的节点',
    queue_threshold: '排队阈值', region: '方言区',
  },
  en: {
    app_title: '12345 Hotline Console', sign_in: 'Sign in', sign_out: 'Sign out', switch: 'Switch', token: 'Token',
    token_hint: 'Enter the token your administrator gave you (kept for this browser session only)',
    bad_token: 'The token is not valid or was revoked', language: '中文', node: 'Node',
    menu_desk: 'Operator desk', menu_triage: 'Online triage', menu_inbox: 'Unit inbox', menu_reviews: 'Reviews',
    menu_tickets: 'Tickets', menu_stats: 'Statistics', menu_admin: 'Units & principals', menu_progress: 'Progress (public)',
    presence: 'Presence', online: 'Online', busy: 'Busy', away: 'Away',
    kind: 'Kind', category: 'Category', channel: 'Channel', content: 'Content', citizen: 'Citizen',
    citizen_type: 'Citizen type', name: 'Name', phone: 'Phone', id_number: 'ID number', contact: 'Contact',
    division: 'Division code', address: 'Address', location: 'Location', register: 'Register (Ctrl+Enter)',
    registered_as: 'Registered as', kb_matches: 'Knowledge base', repeats: 'Likely repeats', no_matches: 'No matches',
    emergency: 'Emergency', emergency_hand: 'Hand the caller to line', emergency_none: 'No line to hand to; emergency period applies',
    hours: 'hours', same_caller: 'same caller', same_place: 'same place', score: 'similarity',
    suggested: 'suggested', actions: 'Actions', submit: 'Submit', cancel: 'Cancel', open: 'Open',
    waiting: 'Waiting', created_at: 'Registered', deadline: 'Deadline', status: 'Status', unit: 'Unit',
    id: 'Ticket', none: 'none', refresh: 'Refresh', loading: 'Loading…', empty: 'No tickets',
    due_soon: 'due soon', overdue: 'overdue', provisional: 'provisional deadline', supervised: 'supervised',
    pending: 'Pending application', outcome: 'Outcome', timeline: 'Timeline', allowed: 'Actions',
    not_allowed: 'Not allowed now', fields: 'Ticket', events_actor: 'By', decision: 'Decision',
    approve: 'Approve', refuse: 'Refuse', send_back: 'Send back', note: 'Note',
    reviews_pending: 'Applications to decide', followups: 'Follow-ups after bad ratings', supervision: 'Supervision',
    from: 'From', to: 'To', show: 'Show', month: 'Month', download_csv: 'Download CSV',
    chart_daily: 'Daily intake', chart_kind: 'Intake by kind', chart_ontime: 'On-time and satisfaction rate by unit',
    chart_rejected: 'Rejection reasons', chart_overdue: 'Overdue trend', assessment: 'Monthly assessment',
    on_time_rate: 'On-time rate', satisfaction_rate: 'Satisfaction', received: 'Received', overdue_open: 'Newly overdue',
    score_col: 'Score', dispatched: 'Dispatched', completed: 'Completed', returns_rate: 'Proper returns', redo_rate: 'No redo',
    progress_title: 'Follow your appeal', last4: 'Last 4 digits of the phone', query: 'Look up', not_found: 'No such appeal, or the digits do not match',
    rate_title: 'Rate the service', rate_intake: 'Intake', rate_handling: 'Handling', comment: 'Comment (optional)',
    rated: 'Thank you for your rating!', rate_submit: 'Send rating', public_status: 'Status',
    units: 'Units', principals: 'Principals', code: 'Code', categories: 'Categories', role: 'Role',
    create: 'Create', token_once: 'New token (shown this once)', sign_in_as: 'Sign in as this principal', revoke: 'Revoke',
    answer: 'Answer', reason: 'Reason', explanation: 'Explanation', basis: 'Basis', process: 'Process', result: 'Result',
    handled_at: 'Handled at', text: 'Text', to_node: 'To node', related: 'Related ticket', done: 'Done',
    rule_return: 'A return is asked within 2 working days of dispatch, by the unit holding the order.',
    rule_extension: 'An extension is asked within the handling period; a manager decides.',
    rule_completion: 'Completion needs four parts: time, process, result and basis.',
    rule_waiting: 'An application awaits a manager; no other can be made until it is decided.',
    signed_in_as: 'Signed in as', welcome: 'Choose your work from the menu.',
    refused: 'Not done', saved: 'Saved', switch_to: 'Switch to a principal of this session',
    menu_province: 'Province', from_node: 'From node', menu_kb: 'Knowledge base', improper_return: 'improper return', repeated_extension: 'second extension',
    citizen_next: 'What the citizen may do next', next_rate: 'Rate by the SMS link or by phone until', next_redo: 'Ask once for a redo if not satisfied',
    next_progress: 'Follow the progress with the ticket number and the phone\'s last 4 digits', menu_restrictions: 'Restrictions',
    search: 'Search', kb_pending: 'Awaiting review', kb_type: 'Type', title: 'Title', valid_from: 'Valid from',
    restriction_rule: 'For 30 natural days calls from the number are refused (Art 9).', lift: 'Lift', menu_rules: 'Emergency rules', federation_nodes: 'Nodes', connected: 'connected',
    disconnected: 'disconnected', queue: 'queue', agents: 'busy/online', lag: 'lag', takes_overflow: 'takes overflow',
    transfers: 'Transfers', reconciliation: 'Reconciliation', chart_cities: 'This month by city', day: 'Day',
    matches: 'matches', differs: 'differs', updated_at: 'Updated', signed_by: 'signed by', keywords: 'Keywords',
    line: 'Line', period_hours: 'Period (hours)', withdraw: 'Withdraw',
    all: 'All', filter: 'Filter', page_size: 'Per page', pages: 'Pages', first_page: 'First page', prev_page: 'Previous',
    next_page: 'Next', last_page: 'Last page', page_of: 'Page {0} of {1} · {2} in all',
    overdue_filter: 'Overdue', overdue_true: 'overdue', overdue_false: 'not overdue',
    created_from: 'Registered from', created_to: 'Registered until',
    menu_followups: 'Follow-ups', followup_state: 'State', followup_open: 'to call back', followup_done: 'done',
    round: 'Round', record_outcome: 'Record the outcome', rating: 'Rating', followup_channel: 'Follow-up by',
    followup_outcome: 'Outcome', done_at: 'Done at',
    menu_assists: 'Overflow triage', assist_state: 'State', assist_open: 'to triage', assist_triaged: 'triaged',
    assist_withdrawn: 'withdrawn', triage: 'Triage', closed_at: 'Closed',
    kb_shown: '{0} shown of {1} matching (the API gives at most 100: narrow by words or type)',
    open_corrections: 'corrections open', kb_correct_withdraw: 'Correct or withdraw', kb_correction: 'File a correction',
    kb_withdraw: 'Withdraw the entry', kb_new_version: 'Submit a new version', kb_corrections: 'Corrections to answer',
    filed_by: 'Filed by',
    menu_transfers: 'Transfer decisions', menu_balancing: 'Load balancing',
    state_connected: 'connected', state_lagging: 'lagging', state_overflow: 'over threshold (overflow)',
    state_disconnected: 'disconnected', state_unregistered: 'not registered',
    map_label: 'Schematic of the federation: each city\'s node placed by approximate longitude and latitude, coloured by connection, lag and overflow',
    map_note: 'A schematic: cities placed by the approximate longitude and latitude of their seats; not a map, no boundaries.',
    last_heartbeat: 'Last heartbeat', recon_summary: '{0} daily reports, {1} not matching the master dataset',
    recon_reported: 'Reported', recon_received: 'Received',
    owner: 'Handled by', offered_at: 'Offered', decide: 'Decide',
    overflow_log: 'Overflow assignments', balancing_rule: 'Past its threshold a centre\'s queue overflows to centres that take overflow (same dialect region first); the administrator sets threshold, overflow and region.',
    spare: 'Spare', settings: 'Settings', centre: 'Helper', stayed_home: 'stayed home',
    overflow_home: 'no centre could take it', overflow_assigned: 'assigned', overflow_withdrawn: 'withdrawn',
    overflow_triaged: 'triaged', decided_at: 'Assigned at', no_overflow: 'takes no overflow', save: 'Save',
    route_title: 'Where a call goes now', route_for: 'Call for', route_to: 'Should be taken by',
    queue_threshold: 'Queue threshold', region: 'Dialect region',
  },
};

/* The API's values, by language. */
const VALUES = {
  zh: {
    consultation: '咨询', help: '求助', complaint: '投诉', report: '举报', suggestion: '建议',
    economic_regulation: '经济调节', market_supervision: '市场监管', social_management: '社会管理',
    public_service: '公共服务', ecological_environment: '生态环境保护',
    phone: '电话', web: '网站', app: 'App', miniprogram: '小程序',
    person: '自然人', legal_person: '法人', organization: '其他组织',
    registered: '已登记', accepted: '已受理', answered: '已答复', rejected: '不予受理', handling: '办理中',
    return_requested: '申请退回', extension_requested: '申请延期', completion_requested: '申请办结',
    completed: '已办结', redo_requested: '申请重办', closed: '已关闭', transferred: '已转办',
    register: '登记', accept: '受理', answer: '当场答复', reject: '不予受理', dispatch: '派单', return: '退回',
    extension: '申请延期', completion: '申请办结', notes: '备注', supervise: '督办', redo: '申请重办',
    link: '关联', transfer: '转其他节点', repeat_check: '重复件比对', emergency: '紧急事项',
    emergency_handoff: '紧急转接专线', close: '关闭', offer: '转出', decision: '省级决定',
    accept_transfer: '接收', answer_script: '答复口径', service_item: '办事事项', duty: '职责',
    power_list: '权责清单', contact: '联系方式', office_hours: '办公时间', policy: '政策文件', transfer_pending: '转办中', handed_off: '已移交', offered: '待接收', decline: '拒收转办', rating: '评价',
    'return/review': '审核退回', 'extension/review': '审核延期', 'completion/review': '审核办结', 'redo/review': '审核重办',
    'extension/review:approve': '同意延期', 'extension/review:refuse': '不同意延期',
    'completion/review:approve': '同意办结', 'completion/review:send_back': '退回重办',
    'return/review:approve': '同意退回', 'return/review:refuse': '不同意退回',
    'redo/review:approve': '同意重办', 'redo/review:refuse': '不同意重办',
    outside_jurisdiction: '不属本热线受理范围', other_legal_channel: '应通过诉讼仲裁等法定途径',
    petition_channel: '应通过信访渠道', secret_or_privacy: '涉密或隐私', abusive_or_empty: '无实质内容或辱骂',
    repeat: '重复诉求', other: '其他',
    very_satisfied: '非常满意', satisfied: '满意', basically_satisfied: '基本满意', dissatisfied: '不满意',
    very_dissatisfied: '非常不满意', approve: '同意', refuse: '不同意', send_back: '退回重办',
    admin: '管理员', operator: '话务员', manager: '值班长', unit_role: '承办单位', auditor: '审计员', service: '接口',
    none: '无', sms: '短信', cantonese: '粤语', hakka: '客家话', teochew: '潮汕话',
    transfer_offered: '待接收', transfer_accepted: '已接收', transfer_declined: '已拒收，待省级决定',
    transfer_decided: '省级已决定', transfer_refused: '未能转出',
  },
  en: {
    unit_role: 'unit', 'return/review': 'review return', 'extension/review': 'review extension',
    'completion/review': 'review completion', 'redo/review': 'review redo',
    sms: 'SMS', transfer_offered: 'offered', transfer_accepted: 'accepted',
    transfer_declined: 'declined, awaiting the province', transfer_decided: 'decided by the province',
    transfer_refused: 'refused',
  },
};

const CATEGORIES = ['public_service', 'market_supervision', 'social_management', 'economic_regulation',
  'ecological_environment'];
const KINDS = ['complaint', 'consultation', 'help', 'report', 'suggestion'];
const CHANNELS = ['phone', 'web', 'app', 'miniprogram'];
const LEVELS = ['very_satisfied', 'satisfied', 'basically_satisfied', 'dissatisfied', 'very_dissatisfied'];
const REJECT_REASONS = ['outside_jurisdiction', 'other_legal_channel', 'petition_channel',
  'secret_or_privacy', 'abusive_or_empty', 'repeat', 'other'];

function lang() {
  const chosen = localStorage.getItem('hotline.lang');
  return chosen === 'en' ? 'en' : 'zh';
}

function setLang(l) {
  localStorage.setItem('hotline.lang', l);
  document.documentElement.lang = l === 'en' ? 'en' : 'zh-CN';
}

/* The word for 'key' in the chosen language, with 'args' in its places
 * ({0}, {1}, ...). */
function t(key, ...args) {
  const text = I18N[lang()][key] || I18N.zh[key] || key;
  return text.replace(/\{(\d)\}/g, (all, i) => (i < args.length ? String(args[i]) : all));
}

/* The name of an API value ("complaint", "handling") in the chosen language. */
function v(value) {
  if (value === null || value === undefined)
    return '—';
  const table = VALUES[lang()];
  if (table[value])
    return table[value];
  return lang() === 'en' ? String(value).replace(/_/g, ' ') : String(value);
}

const SHANGHAI = { timeZone: 'Asia/Shanghai', hour12: false };

/* A time of the API (RFC 3339) as Beijing time: "2026-12-05 08:42". */
function when(iso) {
  if (!iso)
    return '—';
  const d = new Date(iso);
  if (isNaN(d))
    return iso;
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-CA', { ...SHANGHAI,
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' })
    .formatToParts(d).map(p => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

/* Today's date in Beijing: "2026-12-05". */
function beijingToday() {
  return new Intl.DateTimeFormat('en-CA', { ...SHANGHAI, year: 'numeric', month: '2-digit',
    day: '2-digit' }).format(new Date());
}

/* A duration in seconds as "2 h 05 min" / "2小时05分". */
function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  if (lang() === 'en')
    return h > 0 ? `${h} h ${String(m).padStart(2, '0')} min` : `${m} min`;
  return h > 0 ? `${h}小时${String(m).padStart(2, '0')}分` : `${m}分钟`;
}

/* An element: el('div', {class: 'x', onclick: f}, child, 'text', ...). */
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, val] of Object.entries(attrs || {})) {
    if (val === undefined || val === null || val === false)
      continue;
    if (k.startsWith('on'))
      e.addEventListener(k.slice(2), val);
    else if (k === 'value')
      e.value = val;
    else
      e.setAttribute(k, val === true ? '' : val);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false)
      continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}
