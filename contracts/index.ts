/** Contracts shared by workflows and activities; zod only, safe inside the workflow sandbox. */
export * from './pipeline-spec';
export * from './validation';
export * from './errors';
export * from './names';
export * from './task-queue';
export * from './build-image';
export * from './publish-image';
export * from './sync-data';
export * from './train-model';
export * from './status';
export * from './tune-model';
export * from './register-model';
export * from './deploy-model';
export * from './cost';
export * from './pipeline-plan';
export * from './retrain';
export * from './liveness';
