import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// SPEC §4: the names ops type into the Web UI, e.g. ChatMode="operator" or NeedsHuman=true.
export const whatsAppPhoneKey = defineSearchAttributeKey('WhatsAppPhone', SearchAttributeType.KEYWORD);
export const chatModeKey = defineSearchAttributeKey('ChatMode', SearchAttributeType.KEYWORD);
export const needsHumanKey = defineSearchAttributeKey('NeedsHuman', SearchAttributeType.BOOL);
export const lastInboundAtKey = defineSearchAttributeKey('LastInboundAt', SearchAttributeType.DATETIME);

export const chatSearchAttributeKeys = [whatsAppPhoneKey, chatModeKey, needsHumanKey, lastInboundAtKey];

export const campaignIdKey = defineSearchAttributeKey('CampaignId', SearchAttributeType.KEYWORD);
export const leadIdKey = defineSearchAttributeKey('LeadId', SearchAttributeType.KEYWORD);

/** Everything the worker registers at start (SPEC §4). */
export const allSearchAttributeKeys = [...chatSearchAttributeKeys, campaignIdKey, leadIdKey];
