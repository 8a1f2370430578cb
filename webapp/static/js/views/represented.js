// People I act for (EHDS Art 4(2)-(3)): the citizens whose authorisation
// (or guardianship) lets this citizen act for them now, each with what it
// allows and "Act for this person", which puts the app in acting mode
// (js/acting.js); and this citizen's own id, to give to someone who wants
// to authorise them. Read with the citizen's own calls, also while acting.
import { t } from '../i18n.js';
import { representedLines } from '../proxies.js';
import { add, announce, h } from '../ui.js';

function personItem(ctx, r) {
  const headingId = `represented-${r.citizen_id}`;
  const now = ctx.subject.scope && ctx.subject.scope.citizen_id === r.citizen_id;
  let control;
  if (now) {
    const stop = h('button', { type: 'button', class: 'secondary', id: 'represented-stop',
      'aria-describedby': headingId }, t('acting.stop'));
    stop.addEventListener('click', () => ctx.acting.stop());
    control = [h('p', { class: 'ok' }, t('represented.acting')), stop];
  } else {
    const act = h('button', { type: 'button', class: ['primary', 'act'],
      'aria-describedby': headingId, dataset: { citizen: r.citizen_id } }, t('represented.act'));
    act.addEventListener('click', () => {
      ctx.acting.start(r);
      announce(t('acting.started', { id: r.citizen_id }));
      ctx.go('records');
    });
    control = act;
  }
  const guardian = r.kind === 'guardian';
  return h('li', { class: ['grant', 'represented'],
    dataset: { citizen: r.citizen_id, kind: guardian ? 'guardian' : 'proxy', authorisation: r.id } },
  h('h3', { id: headingId }, r.citizen_id),
  guardian ? h('p', { class: 'guardian-note' }, t('represented.guardian')) : null,
  representedLines(r).map((line) => h('p', {}, line)),
  h('div', { class: 'actions start' }, control));
}

export async function render(main, ctx) {
  const notice = ctx.acting.notice();
  const answer = await ctx.api.own.get('/v1/me/represented');
  const people = Array.isArray(answer?.represented) ? answer.represented
    .filter((r) => r && typeof r.citizen_id === 'string') : [];
  let noticeBox = null;
  if (notice && notice.kind === 'ended') {
    noticeBox = h('p', { class: 'warning', id: 'acting-ended', role: 'alert' },
      t('represented.ended', { id: notice.id }));
  } else if (notice && notice.kind === 'stopped') {
    noticeBox = h('p', { class: 'notice', id: 'acting-stopped' },
      t('acting.stopped', { id: notice.id }));
  }
  add(main,
    h('h1', {}, t('represented.title')),
    noticeBox,
    h('p', {}, t('represented.intro')),
    h('h2', { id: 'represented-list-title' }, t('represented.listTitle')),
    people.length
      ? h('ul', { class: 'grants', id: 'represented-list', 'aria-labelledby': 'represented-list-title' },
        people.map((r) => personItem(ctx, r)))
      : h('p', { id: 'represented-none' }, t('represented.none')),
    h('section', { class: 'card', 'aria-labelledby': 'my-id-title' },
      h('h2', { id: 'my-id-title' }, t('represented.yourIdTitle')),
      h('p', { class: 'code', id: 'my-citizen-id' }, ctx.pairing.citizenId),
      h('p', { class: 'hint' }, t('represented.yourIdHint'))));
}
