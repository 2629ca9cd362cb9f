import { pgEnum } from 'drizzle-orm/pg-core';

// Each value list is exported `as const` so validators and UIs reuse it. A value added to an enum
// is never used in the deploy that adds it (ALTER TYPE ... ADD VALUE commits first).

export const organizationPlans = ['free', 'starter', 'pro', 'enterprise'] as const;
export const organizationPlan = pgEnum('organization_plan', organizationPlans);

export const membershipStatuses = ['invited', 'active', 'suspended'] as const;
export const membershipStatus = pgEnum('membership_status', membershipStatuses);

export const credentialKinds = ['oauth2', 'api_key', 'basic', 'webhook_secret'] as const;
export const credentialKind = pgEnum('credential_kind', credentialKinds);

export const auditActorTypes = ['user', 'api_key', 'agent', 'system'] as const;
export const auditActorType = pgEnum('audit_actor_type', auditActorTypes);

export const embeddingDistances = ['cosine', 'l2', 'inner_product'] as const;
export const embeddingDistance = pgEnum('embedding_distance', embeddingDistances);

export const brandStatuses = ['active', 'archived'] as const;
export const brandStatus = pgEnum('brand_status', brandStatuses);

export const agentKinds = [
  'copywriter',
  'social',
  'email',
  'seo',
  'analytics',
  'support',
  'brand_voice',
  'research',
  'orchestrator',
  'custom',
] as const;
export const agentKind = pgEnum('agent_kind', agentKinds);

export const agentStatuses = ['draft', 'active', 'paused', 'archived'] as const;
export const agentStatus = pgEnum('agent_status', agentStatuses);

export const agentRunStatuses = [
  'queued',
  'running',
  'succeeded',
  'failed',
  'cancelled',
  'timed_out',
] as const;
export const agentRunStatus = pgEnum('agent_run_status', agentRunStatuses);

export const agentRunTriggers = ['user', 'api', 'schedule', 'webhook', 'agent'] as const;
export const agentRunTrigger = pgEnum('agent_run_trigger', agentRunTriggers);

export const toolKinds = ['builtin', 'http', 'mcp'] as const;
export const toolKind = pgEnum('tool_kind', toolKinds);

export const toolStatuses = ['active', 'disabled'] as const;
export const toolStatus = pgEnum('tool_status', toolStatuses);

export const toolExecutionStatuses = ['running', 'succeeded', 'failed'] as const;
export const toolExecutionStatus = pgEnum('tool_execution_status', toolExecutionStatuses);

export const conversationKinds = ['chat', 'agent_session', 'support', 'brand_copilot'] as const;
export const conversationKind = pgEnum('conversation_kind', conversationKinds);

export const conversationStatuses = ['active', 'archived'] as const;
export const conversationStatus = pgEnum('conversation_status', conversationStatuses);

export const messageRoles = ['system', 'user', 'assistant', 'tool'] as const;
export const messageRole = pgEnum('message_role', messageRoles);

export const datasetKinds = [
  'documents',
  'website',
  'faq',
  'product_catalog',
  'brand_assets',
  'conversation_log',
] as const;
export const datasetKind = pgEnum('dataset_kind', datasetKinds);

export const datasetStatuses = ['empty', 'ingesting', 'ready', 'failed', 'archived'] as const;
export const datasetStatus = pgEnum('dataset_status', datasetStatuses);

/** What a re-embedding moves into a new space: a dataset's chunks, a brand's voices, a tenant's messages. */
export const reembeddingTargets = ['dataset', 'brand_voices', 'messages'] as const;
export const reembeddingTarget = pgEnum('reembedding_target', reembeddingTargets);

/**
 * `embedding`: new vectors being written, reads on the old space; `switched`: reads on the new space,
 * old vectors kept for a rollback; `rolled_back` and `dropped` (old vectors gone) are final.
 */
export const reembeddingStates = ['embedding', 'switched', 'rolled_back', 'dropped'] as const;
export const reembeddingState = pgEnum('reembedding_state', reembeddingStates);

export const documentStatuses = ['pending', 'processing', 'ready', 'failed'] as const;
export const documentStatus = pgEnum('document_status', documentStatuses);

export const trainStatuses = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export const trainStatus = pgEnum('train_status', trainStatuses);

export const modelVersionStatuses = ['training', 'ready', 'deprecated', 'failed'] as const;
export const modelVersionStatus = pgEnum('model_version_status', modelVersionStatuses);

export const inferenceEndpointStatuses = ['provisioning', 'ready', 'failed', 'stopped'] as const;
export const inferenceEndpointStatus = pgEnum('inference_endpoint_status', inferenceEndpointStatuses);

export const contentKinds = [
  'blog_post',
  'social_post',
  'email',
  'ad_copy',
  'landing_page',
  'video_script',
  'product_description',
] as const;
export const contentKind = pgEnum('content_kind', contentKinds);

export const contentStatuses = ['draft', 'in_review', 'approved', 'published', 'archived'] as const;
export const contentStatus = pgEnum('content_status', contentStatuses);

export const campaignStatuses = ['draft', 'scheduled', 'active', 'paused', 'completed', 'archived'] as const;
export const campaignStatus = pgEnum('campaign_status', campaignStatuses);

export const channels = ['email', 'social', 'search', 'display', 'web', 'sms'] as const;
export const channel = pgEnum('channel', channels);

export const socialPlatforms = ['x', 'linkedin', 'facebook', 'instagram', 'tiktok', 'youtube'] as const;
export const socialPlatform = pgEnum('social_platform', socialPlatforms);

export const socialPostStatuses = ['draft', 'scheduled', 'published', 'failed'] as const;
export const socialPostStatus = pgEnum('social_post_status', socialPostStatuses);

export const abTestStatuses = ['draft', 'running', 'completed', 'cancelled'] as const;
export const abTestStatus = pgEnum('ab_test_status', abTestStatuses);

export const subscriptionStatuses = [
  'trialing',
  'active',
  'past_due',
  'canceled',
  'incomplete',
  'paused',
] as const;
export const subscriptionStatus = pgEnum('subscription_status', subscriptionStatuses);

export const invoiceStatuses = ['draft', 'open', 'paid', 'void', 'uncollectible'] as const;
export const invoiceStatus = pgEnum('invoice_status', invoiceStatuses);

export const connectorStatuses = ['pending', 'connected', 'error', 'disabled'] as const;
export const connectorStatus = pgEnum('connector_status', connectorStatuses);

export const taskStatuses = ['todo', 'in_progress', 'blocked', 'done', 'cancelled'] as const;
export const taskStatus = pgEnum('task_status', taskStatuses);

export const taskPriorities = ['low', 'medium', 'high', 'urgent'] as const;
export const taskPriority = pgEnum('task_priority', taskPriorities);
