/**
 * Spec v1.18 removed `/v1/send_join`; a resident from before that may still serve only it. When
 * the v2 route answers 404 M_UNRECOGNIZED (what a server without an endpoint answers), whether the
 * joiner falls back to v1 is recorded under SJ-29, a MAY: never a pass or a fail. What is judged
 * is what follows a fallback that worked: the joiner is in the room, and the end-of-test audit
 * compares its view with the room's.
 */
import { test } from '../../harness/fixtures.ts';
import { recordInformational } from '../../harness/checks/judge.ts';
import { UncheckedJoin } from '../../harness/joining/unchecked-join.ts';
import { legacySendJoinV1 } from '../../harness/remote/index.ts';
import { matrixError } from '../../harness/remote/routing.ts';

test('the v2 send_join answers 404 M_UNRECOGNIZED: whether the joiner falls back to the removed v1 route is recorded', { tag: ['@SJ-29'] }, async ({ candidate, client, remote }, testInfo) => {
  remote.route('send_join_v1', legacySendJoinV1);
  const join = await UncheckedJoin.start({
    candidate,
    client,
    remote,
    holdResync: false,
    sendJoinRoute: (ctx) => matrixError(404, 'M_UNRECOGNIZED', `${ctx.method} ${ctx.path} is not supported by this (pre-v1.18) server`),
  });
  const v2 = remote.requests('send_join').length;
  const v1 = remote.requests('send_join_v1');
  const fellBack = v1.some((r) => r.status === 200);
  recordInformational(testInfo, 'SJ-29', fellBack, { v2Requests: v2, v1Requests: v1.map((r) => r.status), join: { status: join.joinAnswer.status, errcode: join.joinAnswer.errcode } });
  // A join that went through v1 is audited at the end of the test like any other (its view against the room's).
  if (join.joinAnswer.status !== 200) join.skipAudit(`the candidate did not join (client /join answered ${join.joinAnswer.status}), so there is no view to audit`);
});
