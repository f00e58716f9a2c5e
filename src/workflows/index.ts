export * from './chat';
export * from './campaign';
export * from './lead-follow-up';
export * from './webhook-log-retention';
