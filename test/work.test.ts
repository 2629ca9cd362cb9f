import { eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Transaction } from '../src/client/client.ts';
import { withTenant } from '../src/client/tenant.ts';
import { removeMember } from '../src/domains/deletions.ts';
import { acceptInvitation, inviteMember } from '../src/identity/members.ts';
import { feedback, memberships, tasks, users } from '../src/schema/index.ts';
import { campaignSeedIds } from '../src/seed/campaigns.ts';
import { stableId } from '../src/seed/context.ts';
import { seedTenant } from '../src/seed/index.ts';
import { insertFeedbackSchema, insertTaskSchema } from '../src/validators/index.ts';
import { useTestDatabase } from './support/database.ts';
import { orderByField } from './support/drizzle-line.ts';
import { failure } from './support/errors.ts';

const database = useTestDatabase();
let orgId = '';
let editorMembershipId = '';
const inOrg = <T>(fn: (tx: Transaction) => Promise<T>) => withTenant(database.current.db, orgId, fn);
const ids = campaignSeedIds({
  organizationId: '',
  slug: 'acme',
  ownerUserId: '',
  memberUserIds: {},
  membershipIds: {},
  id: (...parts) => stableId('acme', ...parts),
  ring: undefined as never,
});

beforeAll(async () => {
  const acme = await seedTenant(database.current.db, {
    slug: 'acme',
    name: 'Acme',
    ownerEmail: 'o@acme.example',
    ownerName: 'O',
  });
  orgId = acme.organizationId;
  editorMembershipId = acme.membershipIds.editor ?? '';
});

describe('tasks', () => {
  it('lists seeded tasks with their assignee, campaign and content', async () => {
    const rows = await inOrg((tx) =>
      tx.query.tasks.findMany({
        with: { assignee: true, campaign: true, contentItem: true },
        orderBy: orderByField(tasks, 'title'),
      }),
    );
    expect(rows.map((t) => t.title)).toEqual([
      'Publish the launch blog post',
      'Review the welcome email copy',
      'Send the launch performance report',
    ]);
    expect(rows[1]?.assignee?.id).toBe(editorMembershipId);
    expect(rows[0]?.campaign?.slug).toBe('spring-launch');
  });

  it('has a completion time exactly when done', async () => {
    const cases = [
      { title: 'Done without a time', status: 'done' as const },
      { title: 'Open with a time', status: 'todo' as const, completedAt: new Date() },
    ];
    for (const values of cases) {
      const error = await failure(inOrg((tx) => tx.insert(tasks).values(values)));
      expect(error.constraint).toBe('tasks_done_check');
      expect(insertTaskSchema.safeParse(values).success).toBe(false);
    }
    const blank = await failure(inOrg((tx) => tx.insert(tasks).values({ title: '   ' })));
    expect(blank.constraint).toBe('tasks_title_check');
  });

  it('unassigns, not deletes, the tasks of a removed member', async () => {
    const { db } = database.current;
    const [user] = await db.insert(users).values({ email: 'temp@acme.example' }).returning();
    const { token } = await inOrg(async (tx) => {
      const [editor] = await tx.select().from(memberships).where(eq(memberships.id, editorMembershipId));
      return inviteMember(tx, { email: 'temp@acme.example', roleId: editor?.roleId ?? '' });
    });
    await acceptInvitation(db, user?.id ?? '', token);
    const taskId = await inOrg(async (tx) => {
      const [member] = await tx
        .select()
        .from(memberships)
        .where(eq(memberships.userId, user?.id ?? ''));
      const [task] = await tx
        .insert(tasks)
        .values({ title: 'Temporary work', assigneeMembershipId: member?.id })
        .returning();
      expect(await removeMember(tx, member?.id ?? '')).toBe(true);
      return task?.id ?? '';
    });
    const [task] = await inOrg((tx) => tx.select().from(tasks).where(eq(tasks.id, taskId)));
    expect(task?.assigneeMembershipId).toBeNull();
    expect(task?.organizationId).toBe(orgId);
  });

  it("refuses an assignee from another organization's memberships", async () => {
    const other = await seedTenant(database.current.db, {
      slug: 'globex',
      name: 'Globex',
      ownerEmail: 'o@globex.example',
      ownerName: 'G',
    });
    expect(other.organizationId).not.toBe(orgId);
    const error = await failure(
      inOrg((tx) =>
        tx.insert(tasks).values({ title: 'Cross', assigneeMembershipId: other.membershipIds.editor }),
      ),
    );
    expect(error.kind).toBe('foreign_key_violation');
    expect(error.constraint).toBe('tasks_assignee_membership_id_fkey');
  });
});

describe('feedback', () => {
  it('is about exactly one target and has a rating or a comment', async () => {
    const version = ids.version(ids.content.blog, 2);
    const cases: [typeof feedback.$inferInsert, string][] = [
      [{ rating: 3 }, 'feedback_target_check'],
      [{ contentVersionId: version, messageId: stableId('message'), rating: 3 }, 'feedback_target_check'],
      [{ contentVersionId: version, rating: 6 }, 'feedback_rating_check'],
      [{ contentVersionId: version, comment: '  ' }, 'feedback_content_check'],
    ];
    for (const [values, constraint] of cases) {
      const error = await failure(inOrg((tx) => tx.insert(feedback).values(values)));
      expect(error.kind).toBe('check_violation');
      expect(error.constraint).toBe(constraint);
      expect(insertFeedbackSchema.safeParse(values).success, constraint).toBe(false);
    }
    const ok = { agentRunId: stableId('acme', 'agent_run', 'social', 'failed'), rating: 5 };
    expect(insertFeedbackSchema.safeParse(ok).success).toBe(true);
    await inOrg((tx) => tx.insert(feedback).values(ok));
    const rows = await inOrg((tx) => tx.select().from(feedback));
    console.log('feedback rows', rows.length);
    expect(rows).toHaveLength(4);
  });
});
