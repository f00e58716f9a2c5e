export { chatWorkflow } from './chat';
