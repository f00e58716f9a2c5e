export * from './chat';
export * from './campaign';
