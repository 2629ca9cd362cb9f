import { type SQL, sql } from 'drizzle-orm';
import { guarded } from '../base/input.ts';
import { rowsOf, type Transaction } from '../client/client.ts';
import { assertUuid, currentTenant } from '../client/tenant.ts';

// Deleting a parent that optional references point at. Those references are composite
// `(organization_id, x_id)` keys with NO ACTION (Citus refuses ON DELETE SET NULL on a key that
// includes organization_id), so each function clears them first, in the same transaction, and
// then deletes; a raw DELETE of a still-referenced parent is refused by the foreign key.

/** Runs the clearing statements, then the delete; true when the row existed in this tenant. */
async function clearThenDelete(
  tx: Transaction,
  table: string,
  id: string,
  clear: (org: string, id: string) => SQL[],
): Promise<boolean> {
  assertUuid(id, `${table} id`);
  const org = currentTenant(tx);
  return guarded(async () => {
    for (const statement of clear(org, id)) await tx.execute(statement);
    const deleted = rowsOf<{ id: string }>(
      await tx.execute(
        sql`delete from ${sql.identifier(table)} where organization_id = ${org} and id = ${id} returning id`,
      ),
    );
    return deleted.length === 1;
  });
}

/** The runs a deleted run takes with it: itself and its sub-runs (parent_run_id cascades). */
const runTree = (org: string, roots: SQL) => sql`
  with recursive doomed(id) as (
    select r.id from agent_runs r where r.organization_id = ${org} and ${roots}
    union
    select r.id from agent_runs r join doomed d on r.parent_run_id = d.id where r.organization_id = ${org}
  )
  update messages set run_id = null
  where organization_id = ${org} and run_id in (select id from doomed)`;

/** Deletes a brand (its voices, campaigns and content go with it); its agents and conversations stay, brandless. */
export function deleteBrand(tx: Transaction, brandId: string): Promise<boolean> {
  return clearThenDelete(tx, 'brands', brandId, (org, id) => [
    sql`update agents set brand_id = null where organization_id = ${org} and brand_id = ${id}`,
    sql`update conversations set brand_id = null where organization_id = ${org} and brand_id = ${id}`,
  ]);
}

/** Deletes an agent with its configs and runs; its conversations stay, agentless, and keep their messages. */
export function deleteAgent(tx: Transaction, agentId: string): Promise<boolean> {
  return clearThenDelete(tx, 'agents', agentId, (org, id) => [
    sql`update conversations set agent_id = null where organization_id = ${org} and agent_id = ${id}`,
    runTree(org, sql`r.agent_id = ${id}`),
  ]);
}

/** Deletes a run (and its sub-runs); the messages it produced stay, without their run. */
export function deleteAgentRun(tx: Transaction, runId: string): Promise<boolean> {
  return clearThenDelete(tx, 'agent_runs', runId, (org, id) => [runTree(org, sql`r.id = ${id}`)]);
}

/** Deletes a conversation and its messages; run telemetry stays, without its conversation. */
export function deleteConversation(tx: Transaction, conversationId: string): Promise<boolean> {
  return clearThenDelete(tx, 'conversations', conversationId, (org, id) => [
    sql`update agent_runs set conversation_id = null where organization_id = ${org} and conversation_id = ${id}`,
  ]);
}

/** Removes a credential; connectors using it stay, disconnected (status `error`, "credential removed"). */
export function deleteCredential(tx: Transaction, credentialId: string): Promise<boolean> {
  return clearThenDelete(tx, 'credentials', credentialId, (org, id) => [
    sql`update connectors set credential_id = null where organization_id = ${org} and credential_id = ${id}`,
  ]);
}

/** Removes a member from the organization; their tasks stay, unassigned. */
export function removeMember(tx: Transaction, membershipId: string): Promise<boolean> {
  return clearThenDelete(tx, 'memberships', membershipId, (org, id) => [
    sql`update tasks set assignee_membership_id = null where organization_id = ${org} and assignee_membership_id = ${id}`,
  ]);
}

/** Deletes a model version; training jobs that produced it stay, without their output. */
export function deleteModelVersion(tx: Transaction, modelVersionId: string): Promise<boolean> {
  return clearThenDelete(tx, 'model_versions', modelVersionId, (org, id) => [
    sql`update training_jobs set output_model_version_id = null where organization_id = ${org} and output_model_version_id = ${id}`,
  ]);
}
