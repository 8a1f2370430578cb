// The sharing page's "Privacy used by statistics" section: per study that
// used the citizen's data in a statistics question (an aggregate with
// noise, docs/PRIVACY.md), how much of their cap it has used, and the
// questions it asked. Built from GET /v1/me/privacy-budget.
import { budgetStudies, defaultCap, formatEpsilon, studyUsage } from '../privacy.js';
import { formatDateTime, formatNumber, t } from '../i18n.js';
import { errorBox, h } from '../ui.js';

/** The budget answer as {body}, or {error} when it cannot be read: the
 * section says so, and the rest of the sharing page still shows. */
export async function loadPrivacyBudget(ctx) {
  try {
    return { body: await ctx.api.get('/v1/me/privacy-budget') };
  } catch (err) {
    return { error: err };
  }
}

function usageLines(study, usage) {
  const spent = formatEpsilon(usage.spent);
  if (usage.state === 'closed') {
    return [h('p', { class: 'privacy-used' }, t('privacy.usedNoCap', { spent })),
      h('p', { class: 'privacy-note' }, t('privacy.closed'))];
  }
  const cap = formatEpsilon(usage.cap);
  return [
    usage.meter ? h('meter', { class: 'privacy-meter', min: 0, max: usage.meter.max,
      value: usage.meter.value, 'aria-label': t('privacy.meter', { title: study.title }) },
    t('privacy.used', { spent, cap })) : null,
    h('p', { class: 'privacy-used' }, t('privacy.used', { spent, cap })),
    h('p', { class: 'privacy-note' }, usage.state === 'full' ? t('privacy.full')
      : t('privacy.left', { remaining: formatEpsilon(usage.remaining) })),
  ];
}

function queryList(study) {
  if (!study.queries.length) return null;
  return h('details', { class: 'privacy-queries' },
    h('summary', {}, t('privacy.queries', { n: formatNumber(study.queries.length) })),
    h('ol', {}, study.queries.map((q) => h('li', { dataset: { queryId: q.id } },
      t('privacy.query', { time: formatDateTime(q.time), description: q.description,
        epsilon: formatEpsilon(q.epsilon) })))));
}

function studyItem(study) {
  const usage = studyUsage(study);
  let by = null;
  if (typeof study.organization === 'string' && study.organization) {
    by = t('privacy.organization', { organization: study.organization });
  } else if (typeof study.researcher === 'string' && study.researcher) {
    by = t('privacy.researcher', { id: study.researcher });
  }
  return h('li', { class: ['privacy-study', `privacy-${usage.state}`],
    dataset: { studyId: study.study_id, state: usage.state } },
  h('h3', {}, study.title),
  by ? h('p', { class: 'hint' }, by) : null,
  usageLines(study, usage),
  queryList(study),
  h('p', { class: 'hint' }, t('privacy.studyId', { id: study.study_id })));
}

/** The section for `loaded` as loadPrivacyBudget gives it. */
export function privacySection(loaded) {
  const parts = [];
  if (loaded.error) {
    parts.push(errorBox(loaded.error));
  } else {
    const studies = budgetStudies(loaded.body);
    const cap = defaultCap(loaded.body);
    if (cap !== null) {
      parts.push(h('p', { class: 'hint', id: 'privacy-default-cap' },
        t('privacy.defaultCap', { cap: formatEpsilon(cap) })));
    }
    parts.push(studies.length
      ? h('ul', { class: 'privacy-studies', id: 'privacy-studies',
        'aria-label': t('privacy.listLabel') }, studies.map(studyItem))
      : h('p', { id: 'privacy-none' }, t('privacy.none')));
  }
  return h('section', { class: 'privacy', id: 'privacy-budget', 'aria-labelledby': 'privacy-title' },
    h('h2', { id: 'privacy-title' }, t('privacy.title')),
    h('p', {}, t('privacy.intro')),
    h('p', {}, t('privacy.explain')),
    parts);
}
