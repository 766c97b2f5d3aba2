/** Every workflow the worker registers (the bundle's entry point). */
export { buildImage } from './build-image';
export { publishImage } from './publish-image';
export { syncData } from './sync-data';
export { trainModel } from './train-model';
export { migrationPipeline } from './migration-pipeline';
export { retrainPipeline } from './retrain-pipeline';
export { tuneModel } from './tune-model';
export { registerModel } from './register-model';
export { deployModel } from './deploy-model';
export { prepareData } from './prepare-data';
export { evaluateModel } from './evaluate-model';
