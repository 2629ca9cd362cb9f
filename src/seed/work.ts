import { feedback, tasks } from '../schema/index.ts';
import { campaignSeedIds } from './campaigns.ts';
import { type DomainSeed, insertNew } from './context.ts';

const DAY = 24 * 3_600_000;

export const workSeed: DomainSeed = {
  name: 'work',
  tenant: async (tx, ctx) => {
    const ids = campaignSeedIds(ctx);
    const now = Date.now();
    const editorMembership = ctx.membershipIds.editor ?? null;
    const counts: Record<string, number> = {};
    counts.tasks = await insertNew(tx, tasks, [
      {
        id: ctx.id('task', 'review-welcome'),
        title: 'Review the welcome email copy',
        status: 'in_progress',
        priority: 'high',
        assigneeMembershipId: editorMembership,
        dueAt: new Date(now + 2 * DAY),
        contentItemId: ids.content.welcome,
        createdByUserId: ctx.ownerUserId,
      },
      {
        id: ctx.id('task', 'launch-report'),
        title: 'Send the launch performance report',
        status: 'todo',
        priority: 'medium',
        dueAt: new Date(now + 7 * DAY),
        campaignId: ids.campaign,
        createdByUserId: ctx.ownerUserId,
      },
      {
        id: ctx.id('task', 'publish-blog'),
        title: 'Publish the launch blog post',
        status: 'done',
        priority: 'urgent',
        completedAt: new Date(now - 30 * DAY),
        contentItemId: ids.content.blog,
        campaignId: ids.campaign,
        createdByUserId: ctx.ownerUserId,
      },
    ]);
    counts.feedback = await insertNew(tx, feedback, [
      {
        id: ctx.id('feedback', 'welcome-v2'),
        contentVersionId: ids.version(ids.content.welcome, 2),
        rating: 4,
        comment: 'Much clearer than the first draft; the subject line could be shorter.',
        userId: ctx.ownerUserId,
      },
      // Ratings of the copilot's answer and of the run that wrote it (seeded by the chat and agents domains).
      {
        id: ctx.id('feedback', 'copilot-answer'),
        messageId: ctx.id('message', 'spring-tagline', '4'),
        rating: 5,
        userId: ctx.ownerUserId,
      },
      {
        id: ctx.id('feedback', 'weekly-social-run'),
        agentRunId: ctx.id('agent_run', 'social', 'weekly'),
        comment: 'Posted at the right times, but skipped the LinkedIn variant.',
        userId: ctx.ownerUserId,
      },
    ]);
    return counts;
  },
};
