import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// SPEC §4: the names ops type into the Web UI, e.g. ChatMode="operator" or NeedsHuman=true.
export const whatsAppPhoneKey = defineSearchAttributeKey('WhatsAppPhone', SearchAttributeType.KEYWORD);
export const chatModeKey = defineSearchAttributeKey('ChatMode', SearchAttributeType.KEYWORD);
export const needsHumanKey = defineSearchAttributeKey('NeedsHuman', SearchAttributeType.BOOL);
export const lastInboundAtKey = defineSearchAttributeKey('LastInboundAt', SearchAttributeType.DATETIME);

/** The inbox (issue 12): ConversationStatus="open" (or closed, archived), AssignedTo=<user id>. */
export const conversationStatusKey = defineSearchAttributeKey('ConversationStatus', SearchAttributeType.KEYWORD);
export const assignedToKey = defineSearchAttributeKey('AssignedTo', SearchAttributeType.INT);

/** Several numbers (issue 13): BusinessNumber="<phone_number_id>", the number the chat is with. */
export const businessNumberKey = defineSearchAttributeKey('BusinessNumber', SearchAttributeType.KEYWORD);

export const chatSearchAttributeKeys = [
  whatsAppPhoneKey,
  chatModeKey,
  needsHumanKey,
  lastInboundAtKey,
  conversationStatusKey,
  assignedToKey,
  businessNumberKey,
];

export const campaignIdKey = defineSearchAttributeKey('CampaignId', SearchAttributeType.KEYWORD);
export const leadIdKey = defineSearchAttributeKey('LeadId', SearchAttributeType.KEYWORD);

/** Everything the worker registers at start (SPEC §4). */
export const allSearchAttributeKeys = [...chatSearchAttributeKeys, campaignIdKey, leadIdKey];
